//! How a connection reaches PostgreSQL: in plain text, or over TLS when the
//! URL says `sslmode=require` (feature `postgres-tls`, rustls).
//!
//! Under TLS the server's certificate is always verified, host name
//! included: against the system's roots, plus the PEM file named by
//! `PGSSLROOTCERT` as with libpq (for Amazon RDS, its
//! `global-bundle.pem`). That is libpq's `verify-full`, which
//! tokio-postgres's URL parser has no name for. `sslmode=prefer` (the
//! default) and `disable` stay in plain text: TLS is used only when the URL
//! asks for it, and then never unverified.

use super::io;
use crate::{Error, Result};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config, Connection, NoTls};

/// The environment variable naming extra root certificates (PEM) for
/// `sslmode=require`, as with libpq.
///
/// ```
/// assert_eq!(uoom::adapters::postgres::ROOT_CERT_ENV, "PGSSLROOTCERT");
/// // PGSSLROOTCERT=/etc/ssl/rds/global-bundle.pem, then a URL such as
/// // postgres://app@db.xxxx.eu-west-1.rds.amazonaws.com/orders?sslmode=require
/// ```
pub const ROOT_CERT_ENV: &str = "PGSSLROOTCERT";

/// Parses `url` and connects as its `sslmode` asks; the connection is
/// returned undriven (see [`drive`]).
pub(crate) async fn connect(url: &str) -> Result<(Client, Box<dyn Driven>)> {
    let config: Config = url.parse().map_err(io("connect"))?;
    if config.get_ssl_mode() != SslMode::Require {
        let (client, conn) = config.connect(NoTls).await.map_err(io("connect"))?;
        return Ok((client, Box::new(conn)));
    }
    let (client, conn) = config.connect(connector()?).await.map_err(io("connect"))?;
    Ok((client, Box::new(conn)))
}

/// Drives a connection until it closes (what awaiting it does).
pub(crate) async fn drive(mut conn: Box<dyn Driven>) {
    loop {
        match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                tracing::warn!(error = %crate::error::Chain::of(&e), "postgres connection closed");
                return;
            }
            None => return,
        }
    }
}

/// A connection of either kind, driven by polling.
pub(crate) trait Driven: Send {
    /// Polls the connection for its next asynchronous message (a
    /// notification, a notice); `None` once it has closed.
    fn poll_message(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<
        Option<std::result::Result<tokio_postgres::AsyncMessage, tokio_postgres::Error>>,
    >;
}

impl<S, T> Driven for Connection<S, T>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    T: AsyncRead + AsyncWrite + Unpin + Send,
{
    fn poll_message(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<
        Option<std::result::Result<tokio_postgres::AsyncMessage, tokio_postgres::Error>>,
    > {
        Connection::poll_message(self, cx)
    }
}

#[cfg(feature = "postgres-tls")]
fn connector() -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    use tokio_postgres_rustls::MakeRustlsConnect;
    fn tls_err(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::io_with(format!("postgres tls: {what}"), e)
    }
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        // A system root rustls cannot parse is skipped, as the platform verifier would.
        let _ = roots.add(cert);
    }
    if let Some(path) = std::env::var_os(ROOT_CERT_ENV) {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let file = format!("{ROOT_CERT_ENV}={}", path.to_string_lossy());
        let system = roots.len();
        for cert in CertificateDer::pem_file_iter(&path).map_err(|e| tls_err(&file, e))? {
            let cert = cert.map_err(|e| tls_err(&file, e))?;
            roots
                .add(cert)
                .map_err(|e| tls_err("root certificate", e))?;
        }
        if roots.len() == system {
            return Err(Error::io(format!(
                "postgres tls: {file}: no certificate in the file"
            )));
        }
    }
    if roots.is_empty() {
        return Err(Error::io(format!(
            "postgres tls: sslmode=require: no root certificates (system store empty, \
             {ROOT_CERT_ENV} unset)"
        )));
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

#[cfg(not(feature = "postgres-tls"))]
fn connector() -> Result<NoTls> {
    Err(Error::io(
        "postgres connect: the URL asks for TLS (sslmode=require) but uoom was built \
         without its `postgres-tls` feature",
    ))
}
