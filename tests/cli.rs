use crate::util::{run_binary, write_temp};

const ORG: &str = "32b6e34b3d91647abb20e7b8";

fn config(extra: &str) -> String {
    format!(
        "[atlas]\nbase_url = \"http://127.0.0.1:9\"\n[auth]\nclient_id = \"mdb_sa_id_x\"\nclient_secret = \"s3cr3t-value-never-printed\"\n{extra}\n[[orgs]]\nid = \"{ORG}\"\n"
    )
}

#[test]
fn version_and_help() {
    let (status, stdout, _) = run_binary(&["--version"], &[]);
    assert!(status.success());
    assert!(stdout.contains(env!("CARGO_PKG_VERSION")), "{stdout}");
    let (status, stdout, _) = run_binary(&["--help"], &[]);
    assert!(status.success());
    for flag in [
        "--config.file",
        "--web.listen-address",
        "--log.level",
        "--log.format",
        "--demo",
        "--runtime.worker-threads",
        "--web.enable-lifecycle",
        "check",
    ] {
        assert!(stdout.contains(flag), "help lacks {flag}:\n{stdout}");
    }
}

/// Every kind of mistake gives exit code 2 and a message naming the key and where it came from.
#[test]
fn config_errors_name_key_and_source_and_exit_2() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("unknown key", "[poll]\nintervall = \"5m\"", &["intervall"]),
        (
            "bad duration",
            "[poll]\ninterval = \"ten minutes\"",
            &["poll.interval"],
        ),
        ("bad jitter", "[poll]\njitter = 3.0", &["poll.jitter"]),
        (
            "bad listen address",
            "[web]\nlisten_address = \"nowhere\"",
            &["web.listen_address"],
        ),
    ];
    for (what, extra, needles) in cases {
        let (_dir, path) = write_temp("atlas.toml", &config(extra));
        let (status, _, stderr) =
            run_binary(&["check", "--config.file", path.to_str().unwrap()], &[]);
        assert_eq!(status.code(), Some(2), "{what}: {stderr}");
        for needle in *needles {
            assert!(
                stderr.contains(needle),
                "{what}: no {needle:?} in:\n{stderr}"
            );
        }
        assert!(
            stderr.contains(path.to_str().unwrap()),
            "{what}: the file is not named:\n{stderr}"
        );
        assert!(
            !stderr.contains("s3cr3t-value-never-printed"),
            "{what}: secret printed:\n{stderr}"
        );
    }
}

#[test]
fn malformed_org_id_and_missing_credentials_are_reported_together() {
    let toml = "[[orgs]]\nid = \"not-an-id\"\n";
    let (_dir, path) = write_temp("atlas.toml", toml);
    let (status, _, stderr) = run_binary(&["--config.file", path.to_str().unwrap()], &[]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("orgs[0].id"), "{stderr}");
    assert!(stderr.contains("auth"), "{stderr}");
}

#[test]
fn both_credential_kinds_are_refused() {
    let extra = "";
    let toml = config(extra).replace(
        "[auth]\n",
        "[auth]\npublic_key = \"abc\"\nprivate_key = \"also-secret-key\"\n",
    );
    let (_dir, path) = write_temp("atlas.toml", &toml);
    let (status, _, stderr) = run_binary(&["--config.file", path.to_str().unwrap()], &[]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("auth"), "{stderr}");
    assert!(
        !stderr.contains("also-secret-key") && !stderr.contains("s3cr3t-value-never-printed"),
        "{stderr}"
    );
}

#[test]
fn environment_errors_name_the_variable() {
    let (_dir, path) = write_temp("atlas.toml", &config(""));
    let (status, _, stderr) = run_binary(
        &["--config.file", path.to_str().unwrap()],
        &[("ATLAS_EXPORTER_POLL__INTERVAL", "soon")],
    );
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ATLAS_EXPORTER_POLL__INTERVAL"), "{stderr}");
}

#[test]
fn plain_http_to_a_remote_atlas_is_refused() {
    let toml = config("").replace("http://127.0.0.1:9", "http://cloud.example.com");
    let (_dir, path) = write_temp("atlas.toml", &toml);
    let (status, _, stderr) = run_binary(&["--config.file", path.to_str().unwrap()], &[]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("atlas.base_url"), "{stderr}");
}

#[test]
fn missing_config_file_is_named() {
    let (status, _, stderr) = run_binary(&["--config.file", "/nonexistent/atlas.toml"], &[]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent/atlas.toml"), "{stderr}");
}

#[test]
fn worker_threads_out_of_range_are_refused_naming_the_flag() {
    for value in ["0", "257", "many"] {
        let (status, _, stderr) = run_binary(&["--demo", "--runtime.worker-threads", value], &[]);
        assert_eq!(status.code(), Some(2), "{value}: {stderr}");
        assert!(
            stderr.contains("--runtime.worker-threads"),
            "{value}: {stderr}"
        );
    }
}

/// A first run with nothing configured gets the two ways to start, not a list of missing keys.
#[test]
fn nothing_configured_prints_a_hint_and_exits_2() {
    for args in [&[][..], &["check"][..], &["--log.level", "debug"][..]] {
        let (status, stdout, stderr) = run_binary(args, &[]);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.contains("--config.file PATH"), "{args:?}: {stderr}");
        assert!(stderr.contains("--demo"), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("no organisations configured"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.lines().count() <= 5, "not short: {stderr}");
    }
}

/// Configuration from the environment alone is configuration: its errors are reported, no hint.
#[test]
fn environment_only_configuration_gets_its_errors_not_the_hint() {
    let (status, _, stderr) = run_binary(&[], &[("MONGODB_ATLAS_CLIENT_ID", "mdb_sa_id_x")]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no organisations configured"), "{stderr}");
    assert!(!stderr.contains("--config.file PATH"), "{stderr}");
}

/// A file that cannot be read or parsed is the only error: what is missing because of it is not.
#[test]
fn unreadable_or_unparsable_file_is_the_only_error() {
    let (_dir, bad) = write_temp(
        "atlas.toml",
        "[auth]\nclient_secret = \"s3cr3t-value-never-printed\n",
    );
    let cases = [
        ("/nonexistent/atlas.toml".to_owned(), "cannot read"),
        (bad.to_str().unwrap().to_owned(), "invalid TOML at line"),
    ];
    for (path, needle) in cases {
        for command in [&[][..], &["check"][..]] {
            let mut args = command.to_vec();
            args.extend(["--config.file", &path]);
            let (status, _, stderr) = run_binary(&args, &[]);
            assert_eq!(status.code(), Some(2), "{path}: {stderr}");
            assert!(stderr.contains(needle), "{path}: {stderr}");
            assert!(stderr.contains(&path), "{path}: {stderr}");
            let problems: Vec<&str> = stderr.lines().filter(|l| l.starts_with("  - ")).collect();
            assert_eq!(problems.len(), 1, "{path}: {stderr}");
            assert!(problems[0].contains("config.file"), "{path}: {stderr}");
            assert!(!stderr.contains("s3cr3t-value-never-printed"), "{stderr}");
        }
    }
}

/// The README's usage block is exactly what `--help` prints, so that neither can drift.
#[test]
fn readme_usage_block_is_the_help_output() {
    let readme = include_str!("../README.md");
    let block = readme
        .split_once("<!-- usage: the output of --help -->\n```text\n")
        .and_then(|(_, rest)| rest.split_once("\n```\n"))
        .map(|(block, _)| block)
        .expect("README.md has the usage block after its marker");
    let (status, stdout, stderr) = run_binary(&["--help"], &[]);
    assert!(status.success(), "{stderr}");
    assert_eq!(
        block,
        stdout.trim_end_matches('\n'),
        "README.md's usage block differs from --help: paste the new output into README.md"
    );
}
