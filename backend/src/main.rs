//! Wires configuration, logging and the command line; everything else lives in the library.

use backend::{cli, config::Settings, telemetry};
use clap::Parser;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    // A missing .env is normal; a malformed one is reported by the settings check.
    let _ = dotenvy::dotenv();
    let cli = cli::Cli::parse();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let _log_writer = telemetry::init(settings.log_format);
    match cli::run(cli, settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
