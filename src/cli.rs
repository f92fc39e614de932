//! The `folio` command line. Results go to stdout; progress and errors go to stderr; exit code
//! 0 ok, 2 bad input or usage, 1 anything else, so that scripts can tell a usage mistake from a failure.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::cli_error::CliError;
use crate::config::Settings;
use crate::model::OutputFormat;
use crate::store::JobState;

const EXAMPLES: &str = "\
Examples:
  folio serve                                   # the GitHub App service (SQLite by default)
  FOLIO_DATABASE_URL=postgres://localhost/folio folio serve
  GITHUB_TOKEN=ghp_... folio evaluate --candidate octocat \\
      https://github.com/octocat/hello/pull/7 https://github.com/octocat/hello
  folio scan . --format json                    # offline practice scan of a checkout
  echo '{\"body\": \"This leaks the file handle; use a with block.\"}' | folio review-signals
  folio jobs list --state dead && folio jobs retry 42
  folio forget octocat                          # delete a candidate's data
  docker exec folio folio setup-token           # the token the first-run setup page asks for";

/// How `folio scan` prints: plain text for a person, or the Markdown and JSON of the other
/// commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScanFormat {
    Text,
    Markdown,
    Json,
}

impl ScanFormat {
    /// Text for a person at a terminal; Markdown when the output goes to a file or a pipe.
    pub(crate) fn default_for(stdout_is_terminal: bool) -> Self {
        if stdout_is_terminal {
            Self::Text
        } else {
            Self::Markdown
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "folio",
    version,
    about = "Evidence of engineering practice from a candidate's public GitHub work",
    after_help = EXAMPLES
)]
pub struct Cli {
    /// A TOML file that overrides the built-in defaults (environment variables override both).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the GitHub App service: POST /webhook, /healthz, /readyz and the setup page on
    /// FOLIO_LISTEN; /metrics and the status page on FOLIO_ADMIN_LISTEN.
    #[command(
        after_help = "Example:\n  FOLIO_WEBHOOK_SECRET=... FOLIO_APP_ID=123 FOLIO_PRIVATE_KEY_PATH=app.pem folio serve"
    )]
    Serve,
    /// Probe a running `folio serve` on FOLIO_LISTEN: exit 0 when GET /healthz answers 200.
    /// For container HEALTHCHECKs, where the runtime image has no curl.
    #[command(after_help = "Example:\n  folio healthcheck && echo alive")]
    Healthcheck {
        /// Probe this URL instead of http://FOLIO_LISTEN/healthz.
        #[arg(long)]
        url: Option<String>,
    },
    /// Apply the database migrations and exit.
    #[command(after_help = "Example:\n  FOLIO_DATABASE_URL=sqlite://folio.db folio migrate")]
    Migrate,
    /// Evaluate a portfolio from the terminal and print the report that would be posted.
    #[command(
        after_help = "Example:\n  GITHUB_TOKEN=ghp_... folio evaluate --candidate octocat --format json \\\n      https://github.com/octocat/hello/pull/7 https://github.com/octocat/hello"
    )]
    Evaluate {
        /// The candidate's GitHub login.
        #[arg(long)]
        candidate: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Markdown)]
        format: OutputFormat,
        /// Use this app installation's token instead of GITHUB_TOKEN.
        #[arg(long)]
        installation: Option<i64>,
        /// Pull request and repository links.
        #[arg(required = true, value_name = "LINK")]
        links: Vec<String>,
    },
    /// Check a local directory for engineering practices, offline.
    #[command(after_help = "Examples:\n  folio scan .\n  folio scan ~/src/project --format json")]
    Scan {
        path: PathBuf,
        /// `text` on a terminal, `markdown` otherwise.
        #[arg(long, value_enum)]
        format: Option<ScanFormat>,
    },
    /// Read JSON lines of review comments on stdin; write one JSON line of signals for each.
    #[command(
        name = "review-signals",
        after_help = "Examples:\n  echo '{\"body\": \"nit: rename x\", \"path\": \"a.py\"}' | folio review-signals\n  echo '{\"body\": \"This leaks the handle; use a with block.\"}' | folio review-signals --explain"
    )]
    ReviewSignals {
        /// Also show, per signal, the features that decided it and the model's probability.
        #[arg(long)]
        explain: bool,
        /// Write the model's input features instead of signals (for the training script).
        #[arg(long, conflicts_with = "explain")]
        features: bool,
    },
    /// Delete every stored submission and evaluation of a candidate or author.
    #[command(after_help = "Example:\n  folio forget octocat")]
    Forget { login: String },
    /// Inspect and re-queue jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Print the one-time setup token that the first-run setup page asks for: FOLIO_SETUP_TOKEN,
    /// or the token `folio serve` keeps beside FOLIO_CREDENTIALS_PATH until setup is done. Run it
    /// where Folio runs, with the same settings. Exit code 2 when there is none.
    #[command(
        name = "setup-token",
        after_help = "Examples:\n  folio setup-token\n  docker exec folio folio setup-token\n  kubectl exec deploy/folio -- folio setup-token"
    )]
    SetupToken,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List recent jobs.
    #[command(after_help = "Example:\n  folio jobs list --state dead")]
    List {
        /// pending, running, done, dead or superseded
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Re-queue a dead job.
    #[command(after_help = "Example:\n  folio jobs retry 42")]
    Retry { id: i64 },
}

/// Parses the arguments and runs; the process exit code says which kind of failure it was.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap's own messages; exit 2 for usage errors, 0 for --help / --version.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("folio: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("folio: {}", e.one_line());
            e.exit_code()
        }
    }
}

fn settings(cli_config: Option<&std::path::Path>) -> Result<Settings, CliError> {
    Settings::load(cli_config).map_err(|e| CliError::usage(e.to_string()))
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::Serve => {
            let s = settings(config)?;
            let telemetry = crate::telemetry::init(&s.log, s.log_format, s.otlp.as_ref());
            let served = crate::server::serve(s).await;
            // After the server and workers have stopped, so that their last spans go out too.
            telemetry.shutdown().await;
            served.map_err(CliError::Failure)
        }
        Command::Healthcheck { url } => {
            let url = match url {
                Some(u) => u,
                None => healthz_url(settings(config)?.listen),
            };
            let client = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(3))
                .build()
                .context("building the HTTP client")?;
            let res = client
                .get(&url)
                .send()
                .await
                .with_context(|| format!("GET {url}"))?;
            if res.status() == reqwest::StatusCode::OK {
                Ok(())
            } else {
                Err(CliError::Failure(anyhow::anyhow!(
                    "GET {url} answered {}",
                    res.status()
                )))
            }
        }
        Command::Migrate => {
            let s = settings(config)?;
            let store = crate::store::connect(&s.database_url)
                .await
                .context("opening the database")?;
            store.migrate().await.context("applying migrations")?;
            eprintln!("migrations applied ({})", store.backend());
            Ok(())
        }
        Command::Evaluate {
            candidate,
            format,
            installation,
            links,
        } => {
            let s = settings(config)?;
            if std::io::stderr().is_terminal() {
                // A one-off command: its spans are not exported, so there is nothing to flush.
                let _ = crate::telemetry::init("warn", s.log_format, None);
            }
            let out =
                crate::pipeline::evaluate_cli(&s, &candidate, installation, &links, format).await?;
            println!("{out}");
            Ok(())
        }
        Command::Scan { path, format } => {
            let format = format.unwrap_or_else(|| {
                ScanFormat::default_for(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            });
            let out = match format {
                ScanFormat::Text => crate::scan::run_text(&path)?,
                ScanFormat::Markdown => crate::scan::run(&path, OutputFormat::Markdown)?,
                ScanFormat::Json => crate::scan::run(&path, OutputFormat::Json)?,
            };
            println!("{out}");
            Ok(())
        }
        Command::ReviewSignals { explain, features } => {
            let stdin = std::io::stdin();
            let stdout = std::io::stdout();
            let mode = match (explain, features) {
                (_, true) => crate::review_signals::Mode::Features,
                (true, false) => crate::review_signals::Mode::Explain,
                (false, false) => crate::review_signals::Mode::Signals,
            };
            crate::review_signals::run(stdin.lock(), stdout.lock(), mode)
        }
        Command::Forget { login } => {
            let s = settings(config)?;
            let store = crate::store::connect(&s.database_url)
                .await
                .context("opening the database")?;
            store.migrate().await.context("applying migrations")?;
            let n = store.forget_login(&login).await.context("deleting")?;
            eprintln!("deleted {n} submission(s) of {login} with their evaluations");
            Ok(())
        }
        Command::SetupToken => {
            let s = settings(config)?;
            match crate::setup_token::lookup(&s) {
                Ok(token) => {
                    println!("{}", token.expose());
                    Ok(())
                }
                Err(crate::setup_token::LookupError::Unreadable(e)) => Err(CliError::Failure(e)),
                Err(e) => Err(CliError::usage(e.to_string())),
            }
        }
        Command::Jobs(cmd) => {
            let s = settings(config)?;
            let store = crate::store::connect(&s.database_url)
                .await
                .context("opening the database")?;
            store.migrate().await.context("applying migrations")?;
            match cmd {
                JobsCommand::List { state, limit } => {
                    let state = match state.as_deref().map(str::parse::<JobState>) {
                        None => None,
                        Some(Ok(st)) => Some(st),
                        Some(Err(_)) => {
                            return Err(CliError::usage(format!(
                                "--state {:?} is not one of pending, running, done, dead, superseded",
                                state.unwrap_or_default()
                            )));
                        }
                    };
                    let jobs = store
                        .list_jobs(state, limit)
                        .await
                        .context("listing jobs")?;
                    println!(
                        "{:>8}  {:<10}  {:<13}  {:>8}  {:<40}  last error",
                        "id", "state", "kind", "attempts", "key"
                    );
                    for j in jobs {
                        println!(
                            "{:>8}  {:<10}  {:<13}  {:>8}  {:<40}  {}",
                            j.id,
                            j.state,
                            j.kind,
                            j.attempts,
                            j.dedupe_key,
                            j.last_error.unwrap_or_default().replace('\n', " ")
                        );
                    }
                    Ok(())
                }
                JobsCommand::Retry { id } => {
                    if store.retry_dead(id).await.context("re-queueing")? {
                        eprintln!("job {id} re-queued");
                        Ok(())
                    } else {
                        Err(CliError::usage(format!(
                            "job {id} is not dead; see `folio jobs list --state dead`"
                        )))
                    }
                }
            }
        }
    }
}

/// A server listening on every address is probed on loopback, which it also serves.
fn healthz_url(listen: std::net::SocketAddr) -> String {
    let ip = match listen.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    format!(
        "http://{}/healthz",
        std::net::SocketAddr::new(ip, listen.port())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_prints_text_on_a_terminal_and_markdown_elsewhere() {
        assert_eq!(ScanFormat::default_for(true), ScanFormat::Text);
        assert_eq!(ScanFormat::default_for(false), ScanFormat::Markdown);
        for (arg, want) in [
            (Some("text"), Some(ScanFormat::Text)),
            (Some("markdown"), Some(ScanFormat::Markdown)),
            (Some("json"), Some(ScanFormat::Json)),
            (None, None),
        ] {
            let mut argv = vec!["folio", "scan", "."];
            if let Some(a) = arg {
                argv.extend(["--format", a]);
            }
            let cli = Cli::try_parse_from(argv).expect("parses");
            match cli.command {
                Command::Scan { format, .. } => assert_eq!(format, want),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn healthcheck_probes_loopback_for_a_wildcard_listen_address() {
        assert_eq!(
            healthz_url("0.0.0.0:3000".parse().unwrap()),
            "http://127.0.0.1:3000/healthz"
        );
        assert_eq!(
            healthz_url("[::]:8080".parse().unwrap()),
            "http://[::1]:8080/healthz"
        );
        assert_eq!(
            healthz_url("10.1.2.3:3000".parse().unwrap()),
            "http://10.1.2.3:3000/healthz"
        );
    }
}
