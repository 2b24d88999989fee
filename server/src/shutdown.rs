//! SIGTERM and SIGINT: what systemd, Kubernetes, Docker and Ctrl-C send to stop a process.

/// Installs the handlers of SIGTERM and SIGINT now (from then on neither kills the process)
/// and returns the future that completes at the first of them, naming it. Call it before
/// announcing the address, so a signal sent as soon as the server is up is never missed.
#[cfg(unix)]
pub fn signal() -> std::io::Result<impl Future<Output = &'static str> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        }
    })
}

/// Ctrl-C, where there are no Unix signals.
#[cfg(not(unix))]
pub fn signal() -> std::io::Result<impl Future<Output = &'static str> + Send + 'static> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    })
}
