//! The `rustic_rtmp` command: flags, logging and signals around the
//! library. Its own code is under `cli/`; this is the order of a run.

// One exception, `release_freed_memory`, allows it for a C call.
#![deny(unsafe_code)]

use std::process::ExitCode;

use log::error;
use rustic_rtmp::Server;

use cli::config::Settings;
use cli::defs::Args;
use cli::{malloc, nofile, report, signals, token_file};

mod cli;

fn main() -> ExitCode {
    malloc::restart_with_malloc_settings();
    let mut args: Args = argh::from_env();
    if args.version {
        println!("rustic_rtmp {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    // The file is checked as a start would take it: merged with the flags
    // and built into a `Config` that `Config::validate` accepts.
    if let Some(path) = args.check_config.clone() {
        args.config = Some(path.clone());
        return match Settings::load(args).and_then(|settings| settings.config()) {
            Ok(_) => {
                println!("{}: ok", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        };
    }
    let settings = match Settings::load(args) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let level = if settings.args.verbose { "debug" } else { "info" };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level)).init();
    let config = match settings.config() {
        Ok(config) => config,
        Err(e) => {
            error!("{e}");
            return ExitCode::from(2);
        }
    };
    // Signals are registered before the server starts so none is missed.
    let Some(signals) = signals::register() else {
        return ExitCode::FAILURE;
    };
    nofile::raise_open_file_limit(config.limits.max_connections);
    let mut server = match Server::start(config) {
        Ok(server) => server,
        Err(e) => {
            report::report(&e);
            return ExitCode::FAILURE;
        }
    };
    let args = &settings.args;
    let token_kept = (args.api_token.as_deref() == Some("auto"))
        .then(|| token_file::tell_api_token(&server))
        .flatten();
    let watched = args.config.as_deref().filter(|_| !args.no_config_watch);
    signals::serve(&server, signals, watched);
    // Returns once recordings are finished and the done hooks told (2 s
    // at most): exiting sooner would leave `.part` files behind.
    server.shutdown();
    if let Some(path) = token_kept {
        let _ = std::fs::remove_file(path);
    }
    ExitCode::SUCCESS
}
