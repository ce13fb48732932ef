//! The binary: parse flags, load configuration, start logging, run. Errors become exit codes here:
//! 2 for usage and configuration problems, 1 for everything else (and for `check`, an organisation
//! that did not answer).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use atlas_invites_exporter::app::cli::{Cli, Command};
use atlas_invites_exporter::app::demo::Demo;
use atlas_invites_exporter::app::{self, check, telemetry};
use atlas_invites_exporter::config::{self, Config};
use atlas_invites_exporter::http::{self, WebOptions};
use clap::Parser;

/// What a first run with nothing configured prints instead of every missing key.
const NOT_CONFIGURED: &str = "\
atlas-invites-exporter: nothing to poll yet. Run it with one of:
  --config.file PATH   a TOML configuration (config/example.toml shows every key)
  --demo               the built-in Atlas simulator, no account needed
Configuration can also come from ATLAS_EXPORTER_* variables; --help lists every flag.
";

fn main() -> ExitCode {
    app::tune_allocator();
    let cli = Cli::parse();
    if config::nothing_configured(&cli.overrides(), cli.demo) {
        eprint!("{NOT_CONFIGURED}");
        return ExitCode::from(2);
    }
    let config = match config::load(&cli.overrides(), cli.demo) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    // The web configuration is checked as strictly as the main one: exporter-toolkit refuses to start too.
    let web = WebOptions {
        config: match cli
            .web_config_file
            .as_deref()
            .map(http::load_web_config)
            .transpose()
        {
            Ok(config) => config,
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::from(2);
            }
        },
        health_open: cli.web_health_open,
        max_connections: cli.web_max_connections as usize,
        enable_lifecycle: cli.web_enable_lifecycle,
    };
    if let Err(error) = telemetry::init(&config.log.level, config.log.format) {
        eprintln!("{error}");
        return ExitCode::from(2);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(cli.worker_threads))
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli, config, web));
    match result {
        Ok(code) => code,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, config: Config, web: WebOptions) -> anyhow::Result<ExitCode> {
    let from_file = cli.config_file.is_some();
    let demo = match (cli.demo, cli.demo_orgs) {
        (true, Some(orgs)) => {
            Some(Demo::start_generated(orgs, cli.demo_fault_every, from_file).await)
        }
        (true, None) => Some(Demo::start(from_file).await),
        (false, _) => None,
    };
    let demo = demo.transpose().context("starting the demo")?.map(Arc::new);
    let config = match &demo {
        Some(demo) => demo.apply(config),
        None => config,
    };
    match cli.command {
        Some(Command::Check) => {
            // The warnings a normal start logs, where the person running `check` reads.
            print!("{}", check::format_warnings(&config));
            let rows = check::run(&config).await;
            print!("{}", check::format_table(&rows));
            Ok(if rows.iter().all(|r| r.result.is_ok()) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        None => {
            // A reload reads the same sources again: file, environment, flags, and the demo's simulator.
            let overrides = cli.overrides();
            let demo_mode = cli.demo;
            let loader: app::ConfigLoader = Box::new(move || {
                let config =
                    config::load(&overrides, demo_mode).map_err(|errors| errors.to_string())?;
                Ok(match &demo {
                    Some(demo) => demo.apply(config),
                    None => config,
                })
            });
            app::run(config, Some(loader), web, app::shutdown_signal())
                .await
                .context("exporter failed")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
