//! Wiring shared by every function's `main`: logging, start-up settings, the runtime loop.

use std::time::{Duration, SystemTime};

use chrono::Utc;
use lambda_runtime::{Context, LambdaEvent, service_fn};
use serde_json::Value;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::clients::{Clients, load_sdk_config};
use crate::config::Env;
use crate::contract::Remediation;
use crate::driver::handle;

/// JSON logs when Lambda's log format is JSON (the SAM template sets it), text otherwise; the
/// level from Lambda's log level, or `RUST_LOG` (see [`LogSettings`]). Log lines go to standard
/// output, without time stamps (Lambda adds them) or targets.
pub fn init_logging() {
    let LogSettings {
        filter,
        json,
        warnings,
    } = LogSettings::from_env(&Env::process());
    let lines = fmt::layer()
        .with_target(false)
        .without_time()
        .with_writer(std::io::stdout);
    let registry = tracing_subscriber::registry().with(filter);
    if json {
        registry.with(lines.json()).init();
    } else {
        registry.with(lines).init();
    }
    for warning in warnings {
        tracing::warn!("{warning}");
    }
}

/// How the functions log, from the environment, as `lambda_runtime`'s default subscriber did,
/// without its regular-expression filter (0.37 MB of each binary):
/// - `AWS_LAMBDA_LOG_FORMAT=JSON` (any case, as Lambda's advanced logging controls set it): one
///   JSON object a line; anything else: text.
/// - `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls: `TRACE`, `DEBUG`, `INFO`,
///   `WARN`, `ERROR`, `FATAL`, any case; `FATAL` logs errors) takes precedence; otherwise
///   `RUST_LOG`: a level, or comma-separated `target=level` directives with an optional bare
///   level for every other target (`info,aws_smithy_runtime=debug`); otherwise `INFO`. A value
///   that cannot be read logs at `INFO`, with a warning. `RUST_LOG`'s span and field filters and
///   regular expressions are not supported.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSettings {
    pub filter: Targets,
    pub json: bool,
    /// What could not be read, logged once logging is set up.
    pub warnings: Vec<String>,
}

impl LogSettings {
    pub fn from_env(env: &Env) -> Self {
        let json = env
            .get("AWS_LAMBDA_LOG_FORMAT")
            .is_some_and(|format| format.eq_ignore_ascii_case("json"));
        let mut warnings = Vec::new();
        let filter = if let Some(level) = env.get("AWS_LAMBDA_LOG_LEVEL") {
            Targets::new().with_default(log_level(&level).unwrap_or_else(|| {
                warnings.push(format!(
                    "AWS_LAMBDA_LOG_LEVEL={level:?} is not a log level: logging at INFO"
                ));
                LevelFilter::INFO
            }))
        } else if let Some(directives) = env.get("RUST_LOG") {
            log_directives(&directives).unwrap_or_else(|| {
                warnings.push(format!(
                    "RUST_LOG={directives:?} is not a level nor target=level directives: \
                     logging at INFO"
                ));
                Targets::new().with_default(LevelFilter::INFO)
            })
        } else {
            Targets::new().with_default(LevelFilter::INFO)
        };
        Self {
            filter,
            json,
            warnings,
        }
    }
}

/// A level as Lambda's advanced logging controls name it (`FATAL` is the highest, so: errors),
/// or as `tracing` does (`off`, `0` to `5`).
fn log_level(value: &str) -> Option<LevelFilter> {
    if value.eq_ignore_ascii_case("fatal") {
        Some(LevelFilter::ERROR)
    } else {
        value.parse().ok()
    }
}

/// `RUST_LOG` as `target=level` directives and bare levels (no span or field filters).
fn log_directives(value: &str) -> Option<Targets> {
    let directives: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|directive| !directive.is_empty())
        .collect();
    if directives.is_empty() {
        return None;
    }
    directives.join(",").parse().ok()
}

/// The invocation's deadline, from the Lambda context. A deadline already past when the
/// invocation starts is not one Lambda gives (local runtime emulators do): it is ignored, with a
/// warning, rather than stopping the run before it starts.
pub fn deadline(context: &Context) -> Option<SystemTime> {
    let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(context.deadline);
    if context.deadline > 0 && deadline > SystemTime::now() {
        Some(deadline)
    } else {
        tracing::warn!(
            deadline_ms = context.deadline,
            "no usable deadline in the invocation context"
        );
        None
    }
}

/// A function's whole `main`: logging, its settings, its SDK clients (built once per cold
/// start), then the runtime loop. A bad setting is logged and stops the start-up with the error
/// naming the variable (Lambda reports it as an init error).
pub async fn start<F: Remediation>() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let function = F::from_env(&Env::process())
        .inspect_err(|error| tracing::error!(%error, "invalid configuration"))?;
    let clients = Clients::new(&load_sdk_config().await);
    serve(&function, &clients).await
}

/// Runs the Lambda runtime loop: each event goes through the pipeline of `function`, with its
/// clients (built once per cold start), the clock and the deadline.
pub async fn serve<F: Remediation>(
    function: &F,
    clients: &Clients,
) -> Result<(), lambda_runtime::Error> {
    // Boxed: the pipeline's future is deep (stages within stages), and without the box the
    // compiler computes its layout inside the runtime's own and can hit its depth limit.
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        Box::pin(handle(
            function,
            clients,
            event.payload,
            Utc::now(),
            deadline(&event.context),
        ))
    }))
    .await
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> LogSettings {
        LogSettings::from_env(&Env::from_pairs(pairs.iter().copied()))
    }

    /// The most detailed level the filter lets through for a target (`None`: nothing).
    fn level(settings: &LogSettings, target: &str) -> Option<Level> {
        [
            Level::TRACE,
            Level::DEBUG,
            Level::INFO,
            Level::WARN,
            Level::ERROR,
        ]
        .into_iter()
        .find(|level| settings.filter.would_enable(target, level))
    }

    #[test]
    fn without_settings_logs_text_at_info() {
        let defaults = settings(&[]);
        assert!(!defaults.json);
        assert_eq!(level(&defaults, "access_keys"), Some(Level::INFO));
        assert!(defaults.warnings.is_empty());
    }

    #[test]
    fn lambda_log_format_json_gives_json_lines() {
        assert!(settings(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")]).json);
        assert!(settings(&[("AWS_LAMBDA_LOG_FORMAT", "json")]).json);
        assert!(!settings(&[("AWS_LAMBDA_LOG_FORMAT", "Text")]).json);
    }

    #[test]
    fn lambda_log_levels_are_understood() {
        for (value, expected) in [
            ("TRACE", Some(Level::TRACE)),
            ("DEBUG", Some(Level::DEBUG)),
            ("INFO", Some(Level::INFO)),
            ("WARN", Some(Level::WARN)),
            ("ERROR", Some(Level::ERROR)),
            ("FATAL", Some(Level::ERROR)),
            ("debug", Some(Level::DEBUG)),
            ("off", None),
        ] {
            let settings = settings(&[("AWS_LAMBDA_LOG_LEVEL", value)]);
            assert_eq!(level(&settings, "iam_remediation"), expected, "{value}");
            assert!(settings.warnings.is_empty(), "{value}");
        }
    }

    #[test]
    fn lambda_log_level_takes_precedence_over_rust_log() {
        let settings = settings(&[("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("RUST_LOG", "trace")]);
        assert_eq!(level(&settings, "access_keys"), Some(Level::WARN));
    }

    #[test]
    fn rust_log_takes_a_level_or_target_directives() {
        let plain = settings(&[("RUST_LOG", "debug")]);
        assert_eq!(level(&plain, "aws_smithy_runtime"), Some(Level::DEBUG));

        let directives = settings(&[("RUST_LOG", "warn, aws_smithy_runtime=trace,")]);
        assert_eq!(level(&directives, "aws_smithy_runtime"), Some(Level::TRACE));
        assert_eq!(
            level(&directives, "aws_smithy_runtime::client"),
            Some(Level::TRACE)
        );
        assert_eq!(level(&directives, "access_keys"), Some(Level::WARN));
        assert!(directives.warnings.is_empty());

        // As with `EnvFilter`: targets named without a bare level are the only ones logged.
        let only = settings(&[("RUST_LOG", "access_keys=debug")]);
        assert_eq!(level(&only, "access_keys"), Some(Level::DEBUG));
        assert_eq!(level(&only, "aws_config"), None);
    }

    #[test]
    fn an_unreadable_level_logs_at_info_with_a_warning() {
        for pairs in [
            [("AWS_LAMBDA_LOG_LEVEL", "verbose")],
            [("RUST_LOG", "a=b=c")],
            [("RUST_LOG", "info,access_keys=loud")],
            [("RUST_LOG", ",")],
        ] {
            let settings = settings(&pairs);
            assert_eq!(
                level(&settings, "access_keys"),
                Some(Level::INFO),
                "{pairs:?}"
            );
            assert_eq!(settings.warnings.len(), 1, "{pairs:?}");
            assert!(settings.warnings[0].contains(pairs[0].0), "{pairs:?}");
        }
    }
}
