//! The binary: parse flags, load configuration, start logging, run. Errors become exit codes here:
//! 2 for configuration problems, 1 for everything else.

use std::process::ExitCode;

use anyhow::Context;
use atlas_invites_exporter::cli::{Cli, Command};
use atlas_invites_exporter::{app, check, config, demo, telemetry};
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut config = match config::load(&cli.overrides(), cli.demo) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = telemetry::init(&config.log.level, config.log.format) {
        eprintln!("{error}");
        return ExitCode::from(2);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result: anyhow::Result<ExitCode> = runtime.block_on(async {
        let _simulator = if cli.demo {
            let (simulator, demo_config) = demo::prepare(config, cli.config_file.is_some())
                .await
                .context("starting the demo")?;
            config = demo_config;
            Some(simulator)
        } else {
            None
        };
        match cli.command {
            Some(Command::Check) => {
                let rows = check::run(&config).await;
                print!("{}", check::format_table(&rows));
                Ok(if rows.iter().all(|r| r.result.is_ok()) {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
            None => {
                app::run(config, app::shutdown_signal())
                    .await
                    .context("exporter failed")?;
                Ok(ExitCode::SUCCESS)
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
