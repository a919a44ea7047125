//! Logging as `main` sets it up: the operator's `RUST_LOG` filter, with the libraries that
//! are chatty or print tokens capped unless the operator names them.

use std::io::IsTerminal;

use tracing_subscriber::filter::{EnvFilter, FilterExt, LevelFilter, Targets};
use tracing_subscriber::layer::{Filter, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// Logs to standard output as `main` does: the operator's `filter` (`RUST_LOG`), with
/// chatty and token-bearing libraries capped (`log_filter`, below, says which and why);
/// colour only on a terminal.
pub fn init(filter: &str) {
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                // Colour codes only for a terminal, not in files or journald.
                .with_ansi(std::io::stdout().is_terminal())
                .with_filter(log_filter(filter)),
        )
        .init();
}

/// The operator's filter, with the libraries below capped (unless the operator names them).
/// At debug level serenity's HTTP layer and the HTTP clients log request URLs, which hold
/// interaction tokens. And serenity wraps every REST request and every gateway event in an
/// info-level span whose fields (the whole request or event, tokens included) are formatted
/// when it opens: that cost the bot about a third of its CPU per interaction (BENCHMARKS.md,
/// "Logging"), and a warning inside such a span would print them.
fn log_filter(filter: &str) -> impl Filter<Registry> + use<> {
    let caps = [
        ("serenity::http", LevelFilter::WARN),
        ("serenity::gateway", LevelFilter::WARN),
        ("serenity", LevelFilter::INFO),
        ("reqwest", LevelFilter::INFO),
        ("hyper", LevelFilter::INFO),
        ("hyper_util", LevelFilter::INFO),
        ("tungstenite", LevelFilter::INFO),
        ("tokio_tungstenite", LevelFilter::INFO),
    ];
    let named = named_targets(filter);
    // A named target inside a capped one (`serenity::http` in `serenity`) is left to the
    // operator's filter; a cap inside a named target (or the target itself) is dropped.
    let within = |inner: &str, outer: &str| {
        inner == outer
            || inner
                .strip_prefix(outer)
                .is_some_and(|rest| rest.starts_with("::"))
    };
    let kept = caps
        .into_iter()
        .filter(|(cap, _)| !named.iter().any(|target| within(cap, target)));
    let mut targets = Targets::new().with_default(LevelFilter::TRACE);
    for (cap, level) in kept {
        targets = targets.with_target(cap, level);
        for target in named.iter().filter(|target| within(target, cap)) {
            targets = targets.with_target(*target, LevelFilter::TRACE);
        }
    }
    EnvFilter::new(filter).and(targets)
}

/// The targets an `EnvFilter` string names (`hyper=debug`, `serenity::http[span]=trace`,
/// or a bare target); a bare level (`debug`) names none.
fn named_targets(filter: &str) -> Vec<&str> {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    filter
        .split(',')
        .filter_map(|directive| {
            let directive = directive.trim();
            let target = directive
                .split(['=', '['])
                .next()
                .unwrap_or_default()
                .trim();
            let bare_level = target == directive
                && LEVELS
                    .iter()
                    .any(|level| level.eq_ignore_ascii_case(target));
            (!target.is_empty() && !bare_level).then_some(target)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::{Layer, Registry};

    /// What `filter` lets through of one event per (target, level) below.
    fn logged(filter: &str) -> String {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = Arc::clone(&out);
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || Capture(Arc::clone(&sink)))
            .with_filter(super::log_filter(filter));
        let subscriber = Registry::default().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "serenity::http::client", "http-info");
            tracing::warn!(target: "serenity::http::client", "http-warn");
            tracing::info!(target: "serenity::gateway::shard", "gateway-info");
            tracing::info!(target: "serenity::client", "serenity-info");
            tracing::debug!(target: "serenity::client", "serenity-debug");
            tracing::debug!(target: "reqwest::connect", "reqwest-debug");
            tracing::info!(target: "mentorbot::jobs", "own-info");
            tracing::debug!(target: "mentorbot::jobs", "own-debug");
            tracing::warn!(target: "mentorbot::jobs", "own-warn");
        });
        String::from_utf8(out.lock().unwrap().clone()).unwrap()
    }

    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn names(log: &str) -> Vec<&str> {
        let all = [
            "http-info",
            "http-warn",
            "gateway-info",
            "serenity-info",
            "serenity-debug",
            "reqwest-debug",
            "own-info",
            "own-debug",
            "own-warn",
        ];
        all.into_iter().filter(|n| log.contains(n)).collect()
    }

    #[test]
    fn the_default_level_keeps_serenity_request_and_gateway_chatter_out() {
        assert_eq!(
            names(&logged("info")),
            ["http-warn", "serenity-info", "own-info", "own-warn"]
        );
    }

    #[test]
    fn a_quieter_operator_level_is_never_raised_for_libraries() {
        assert_eq!(names(&logged("warn")), ["http-warn", "own-warn"]);
    }

    #[test]
    fn debug_opens_the_bot_but_keeps_libraries_capped_unless_named() {
        assert_eq!(
            names(&logged("debug")),
            [
                "http-warn",
                "serenity-info",
                "own-info",
                "own-debug",
                "own-warn"
            ]
        );
        assert!(names(&logged("debug,reqwest=debug")).contains(&"reqwest-debug"));
        assert!(names(&logged("info,serenity::http=debug")).contains(&"http-info"));
    }

    #[test]
    fn naming_one_library_or_module_uncaps_only_that_one() {
        // `reqwest_retry` is not `reqwest`, and `serenity::http` is not the rest of serenity.
        assert_eq!(
            names(&logged("debug,reqwest_retry=trace,serenity::http=debug")),
            [
                "http-info",
                "http-warn",
                "serenity-info",
                "own-info",
                "own-debug",
                "own-warn"
            ]
        );
        // Naming serenity opens its modules too.
        assert!(names(&logged("info,serenity=info")).contains(&"gateway-info"));
        assert_eq!(
            super::named_targets("debug, hyper_util=trace,serenity::http[request]=debug,tower"),
            ["hyper_util", "serenity::http", "tower"]
        );
    }
}
