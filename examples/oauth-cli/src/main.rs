//! `oauth-cli`: signs in to the app through the browser (authorization code
//! + PKCE, loopback redirect) and prints `GET /api/v1/me`. See the README.

use clap::Parser;
use oauth_cli::{printable, run, Config};
use std::process::ExitCode;
use std::time::Duration;

/// Sign in to the Secure Reference App as an OAuth client and show who you are.
#[derive(Parser)]
#[command(name = "oauth-cli", version)]
struct Args {
    /// The server's base URL (https, or http on a loopback address).
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    issuer: String,
    /// The id `backend create-oauth-client` printed.
    #[arg(long)]
    client_id: String,
    /// A confidential client's secret (better given through the environment
    /// than on the command line, where other local users can see it).
    #[arg(long, env = "OAUTH_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// A scope to ask for; repeat for several (none: the client's own).
    #[arg(long = "scope", default_value = "account")]
    scopes: Vec<String>,
    /// Seconds to wait for the browser to come back.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = Config {
        issuer: args.issuer,
        client_id: args.client_id,
        client_secret: args.client_secret,
        scopes: args.scopes,
        wait: Duration::from_secs(args.timeout),
    };
    let opened = |url: &str| {
        println!("Open this URL in your browser to sign in:\n\n  {url}\n");
        println!("Waiting for the browser to come back…");
    };
    match run(&config, opened) {
        Ok(signed_in) => {
            let expires = signed_in
                .expires_in
                .map_or_else(String::new, |d| format!(", expires in {} s", d.as_secs()));
            println!(
                "Signed in. Access token {} (scope: {}{expires})",
                signed_in.token_preview,
                signed_in.scopes.join(" "),
            );
            let me = serde_json::to_string_pretty(&signed_in.me).unwrap_or_default();
            println!("GET /api/v1/me:\n{}", printable(&me, 4096));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("oauth-cli: {e}");
            ExitCode::FAILURE
        }
    }
}
