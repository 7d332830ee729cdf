//! Amazon MSK IAM authentication (feature `kafka-msk-iam`): SASL
//! `OAUTHBEARER` with the token AWS's own signers make, a SigV4-presigned
//! `kafka-cluster:Connect` URL, base64url-encoded, valid 15 minutes.
//!
//! librdkafka asks for a token when it connects and again before the last one
//! expires; [`MskIamSigner`] answers with credentials from the AWS default
//! chain (environment, profile, web identity, ECS, EC2 instance role), as
//! AWS's Python and Java signers do. A `client.properties` written for MSK's
//! Java client (`sasl.mechanism=AWS_MSK_IAM`) selects it: see
//! [`KafkaConfig::is_msk_iam`](super::KafkaConfig::is_msk_iam).
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use uoom::adapters::kafka::msk_iam::{Credentials, sign_token};
//! let creds = Credentials::new("AKIDEXAMPLE", "secret", None, None, "example");
//! let at = UNIX_EPOCH + Duration::from_secs(1_795_435_200); // 2026-11-23 12:00:00 UTC
//! let token = sign_token("us-east-1", &creds, at).unwrap();
//! assert_eq!(token.expires_at_ms, 1_795_436_100_000); // 900 s later
//! assert!(!token.token.contains('=')); // base64url without padding
//! ```

use crate::{Error, Result};
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use aws_credential_types::Credentials;

/// How long a token is good for: AWS's signers use 900 s, MSK's maximum.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);

/// SigV4's encoding of query names and values: everything but RFC 3986's
/// unreserved characters.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A signed token and when it expires.
///
/// ```
/// use uoom::adapters::kafka::msk_iam::MskIamToken;
/// let t = MskIamToken { token: "aHR0cHM6Ly9rYWZrYQ".into(), expires_at_ms: 1 };
/// assert_eq!(t.expires_at_ms, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MskIamToken {
    /// The SASL/OAUTHBEARER token: the presigned URL, base64url without padding.
    pub token: String,
    /// When it expires, in milliseconds since the Unix epoch (signing time + 900 s).
    pub expires_at_ms: i64,
}

/// Signs an MSK IAM token for `region` with `credentials` at time `at`: the
/// URL `https://kafka.<region>.amazonaws.com/?Action=kafka-cluster%3AConnect`
/// presigned with SigV4 (service `kafka-cluster`, 900 s), then a `User-Agent`
/// parameter naming uoom, base64url-encoded without padding. Byte for byte
/// what AWS's Python signer (`aws-msk-iam-sasl-signer-python`) makes, but
/// for its `User-Agent` (test vectors in this module's tests).
///
/// ```
/// use std::time::SystemTime;
/// use uoom::adapters::kafka::msk_iam::{Credentials, sign_token};
/// let creds = Credentials::new("AKIDEXAMPLE", "secret", Some("session".into()), None, "example");
/// let t = sign_token("eu-west-1", &creds, SystemTime::now()).unwrap();
/// assert!(t.token.len() > 300);
/// ```
pub fn sign_token(region: &str, credentials: &Credentials, at: SystemTime) -> Result<MskIamToken> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        Error::invalid("msk_iam", "signing", format!("msk iam token: {what}: {e}"))
    };
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(Error::invalid(
            "region",
            "invalid",
            format!("msk iam token: {region:?} is not an AWS region"),
        ));
    }
    let endpoint = format!("https://kafka.{region}.amazonaws.com/");
    let unsigned = format!("{endpoint}?Action=kafka-cluster%3AConnect");
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("kafka-cluster")
        .time(at)
        .settings(settings)
        .build()
        .map_err(|e| fail("signing parameters", &e))?;
    let request = SignableRequest::new(
        "GET",
        &unsigned,
        std::iter::empty(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| fail("request", &e))?;
    let (instructions, _) = sign(request, &params.into())
        .map_err(|e| fail("signing", &e))?
        .into_parts();
    let mut url = unsigned;
    // The signature last, as AWS's signers write it (the server reads the
    // parameters by name; the order only makes tokens comparable).
    let mut params = instructions.params().to_vec();
    params.sort_by_key(|(name, _)| *name == "X-Amz-Signature");
    for (name, value) in &params {
        url.push('&');
        url.extend(utf8_percent_encode(name, QUERY));
        url.push('=');
        url.extend(utf8_percent_encode(value, QUERY));
    }
    url.push_str("&User-Agent=");
    url.extend(utf8_percent_encode(
        concat!("uoom-rs/", env!("CARGO_PKG_VERSION")),
        QUERY,
    ));
    let signed_at = at
        .duration_since(UNIX_EPOCH)
        .map_err(|e| fail("signing time", &e))?
        .as_secs();
    Ok(MskIamToken {
        token: URL_SAFE_NO_PAD.encode(url),
        expires_at_ms: ((signed_at + TOKEN_LIFETIME.as_secs()) * 1000) as i64,
    })
}

/// The AWS region in an MSK broker list's host names
/// (`b-1.demo.ab12cd.c2.kafka.us-east-1.amazonaws.com:9098`, or serverless
/// `boot-ab12.c1.kafka-serverless.eu-west-1.amazonaws.com:9098`), from the
/// first host that has one.
///
/// ```
/// use uoom::adapters::kafka::msk_iam::region_of_brokers;
/// let b = "b-1.demo.ab12cd.c2.kafka.us-east-1.amazonaws.com:9098,b-2.demo.ab12cd.c2.kafka.us-east-1.amazonaws.com:9098";
/// assert_eq!(region_of_brokers(b).as_deref(), Some("us-east-1"));
/// assert_eq!(region_of_brokers("127.0.0.1:29098"), None);
/// ```
pub fn region_of_brokers(brokers: &str) -> Option<String> {
    brokers.split(',').find_map(|broker| {
        let host = broker
            .trim()
            .rsplit_once(':')
            .map_or(broker.trim(), |(h, _)| h);
        let labels: Vec<&str> = host.split('.').collect();
        labels.windows(3).find_map(|w| {
            (matches!(w[0], "kafka" | "kafka-serverless")
                && w[2] == "amazonaws"
                && !w[1].is_empty())
            .then(|| w[1].to_owned())
        })
    })
}

/// Makes tokens for librdkafka from the AWS default credential chain (or a
/// named profile), on a small runtime of its own: librdkafka asks from its
/// own threads, which no async runtime runs on.
///
/// ```no_run
/// use uoom::adapters::kafka::msk_iam::MskIamSigner;
/// let s = MskIamSigner::new(Some("us-east-1".into()), None).unwrap();
/// let token = s.token().unwrap();
/// assert!(token.expires_at_ms > 0);
/// ```
pub struct MskIamSigner {
    region: String,
    credentials: aws_credential_types::provider::SharedCredentialsProvider,
    rt: tokio::runtime::Runtime,
}

impl std::fmt::Debug for MskIamSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MskIamSigner")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// The small runtime a signer loads credentials on.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io_with("msk iam: runtime", e))
}

impl MskIamSigner {
    /// A signer for `region` (when `None`: the AWS default region chain,
    /// `AWS_REGION` first) with the default credential chain, or the named
    /// profile's. No credentials are fetched until the first token.
    ///
    /// ```no_run
    /// use uoom::adapters::kafka::msk_iam::MskIamSigner;
    /// let s = MskIamSigner::new(None, Some("orders-prod".into())).unwrap();
    /// ```
    pub fn new(region: Option<String>, profile: Option<String>) -> Result<Self> {
        let rt = runtime()?;
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(r) = &region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(p) = &profile {
            loader = loader.profile_name(p);
        }
        let config = rt.block_on(loader.load());
        let region = region
            .or_else(|| config.region().map(std::string::ToString::to_string))
            .ok_or_else(|| {
                Error::invalid(
                    "region",
                    "required",
                    "msk iam: no AWS region: the brokers' host names name none, \
                     and neither AWS_REGION nor the AWS profile sets one",
                )
            })?;
        let credentials = config.credentials_provider().ok_or_else(|| {
            Error::invalid(
                "credentials",
                "required",
                "msk iam: the AWS configuration has no credentials provider",
            )
        })?;
        Ok(Self {
            region,
            credentials,
            rt,
        })
    }

    /// A signer for `region` with credentials from `provider`: an assumed
    /// role's, a vault's, or fixed ones ([`Credentials`] provides itself).
    ///
    /// ```
    /// use uoom::adapters::kafka::msk_iam::{Credentials, MskIamSigner};
    /// let creds = Credentials::new("AKIDEXAMPLE", "secret", None, None, "static");
    /// let s = MskIamSigner::from_provider("us-east-1", creds).unwrap();
    /// assert_eq!(s.region(), "us-east-1");
    /// assert!(s.token().unwrap().token.len() > 300);
    /// ```
    pub fn from_provider(
        region: impl Into<String>,
        provider: impl aws_credential_types::provider::ProvideCredentials + 'static,
    ) -> Result<Self> {
        let rt = runtime()?;
        Ok(Self {
            region: region.into(),
            credentials: aws_credential_types::provider::SharedCredentialsProvider::new(provider),
            rt,
        })
    }

    /// The region tokens are signed for.
    ///
    /// ```no_run
    /// # let s = uoom::adapters::kafka::msk_iam::MskIamSigner::new(Some("us-east-1".into()), None).unwrap();
    /// assert_eq!(s.region(), "us-east-1");
    /// ```
    pub fn region(&self) -> &str {
        &self.region
    }

    /// A fresh token, signed now with the provider's current credentials
    /// (which it caches and refreshes itself).
    ///
    /// ```no_run
    /// # let s = uoom::adapters::kafka::msk_iam::MskIamSigner::new(Some("us-east-1".into()), None).unwrap();
    /// let t = s.token().unwrap();
    /// ```
    pub fn token(&self) -> Result<MskIamToken> {
        use aws_credential_types::provider::ProvideCredentials;
        let credentials = self
            .rt
            .block_on(self.credentials.provide_credentials())
            .map_err(|e| Error::io_with("msk iam: AWS credentials", e))?;
        sign_token(&self.region, &credentials, SystemTime::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes a token back into its URL.
    fn url_of(token: &str) -> String {
        String::from_utf8(URL_SAFE_NO_PAD.decode(token).unwrap()).unwrap()
    }

    fn at(unix_s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(unix_s)
    }

    /// Made by AWS's Python signer (aws-msk-iam-sasl-signer-python 1.0.2)
    /// with `scripts/msk/token_vector.py`; its User-Agent parameter dropped.
    #[test]
    fn tokens_match_aws_python_signer_byte_for_byte() {
        let cases = [
            (
                "us-east-1",
                Credentials::new(
                    "AKIDEXAMPLE",
                    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                    None,
                    None,
                    "t",
                ),
                1_795_435_200, // 20261123T120000Z
                1_795_436_100_000,
                "https://kafka.us-east-1.amazonaws.com/?Action=kafka-cluster%3AConnect&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261123%2Fus-east-1%2Fkafka-cluster%2Faws4_request&X-Amz-Date=20261123T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=5accf8aa53e4b3d3cb49268c4e9b9e8d062333ff49af224a385025f4dc2178ad",
            ),
            (
                "eu-west-1",
                Credentials::new(
                    "ASIAEXAMPLE",
                    "secret/with+odd=chars",
                    Some("session//token+==".into()),
                    None,
                    "t",
                ),
                1_735_787_045, // 20250102T030405Z
                1_735_787_945_000,
                "https://kafka.eu-west-1.amazonaws.com/?Action=kafka-cluster%3AConnect&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLE%2F20250102%2Feu-west-1%2Fkafka-cluster%2Faws4_request&X-Amz-Date=20250102T030405Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=session%2F%2Ftoken%2B%3D%3D&X-Amz-Signature=76ea1387b1bda69659ef4ef00d1e129c074277851e2dbf6aeb719edc17aad30d",
            ),
        ];
        for (region, creds, unix_s, expires_ms, want) in cases {
            let t = sign_token(region, &creds, at(unix_s)).unwrap();
            let url = url_of(&t.token);
            let (signed, agent) = url.split_once("&User-Agent=").unwrap();
            assert_eq!(signed, want);
            assert_eq!(agent, format!("uoom-rs%2F{}", env!("CARGO_PKG_VERSION")));
            assert_eq!(t.expires_at_ms, expires_ms);
        }
    }

    #[test]
    fn another_secret_or_time_signs_differently() {
        let a = Credentials::new("AKID", "one", None, None, "t");
        let b = Credentials::new("AKID", "two", None, None, "t");
        let t0 = sign_token("us-east-1", &a, at(1_700_000_000)).unwrap();
        assert_ne!(t0, sign_token("us-east-1", &b, at(1_700_000_000)).unwrap());
        assert_ne!(t0, sign_token("us-east-1", &a, at(1_700_000_001)).unwrap());
        assert_eq!(t0, sign_token("us-east-1", &a, at(1_700_000_000)).unwrap());
    }

    #[test]
    fn a_region_that_is_not_one_is_a_validation_error() {
        let c = Credentials::new("AKID", "s", None, None, "t");
        for bad in ["", "us-east-1.evil.com/", "us east", "a?b"] {
            let e = sign_token(bad, &c, at(1_700_000_000)).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Validation, "{bad:?}");
        }
    }

    #[test]
    fn regions_come_from_msk_host_names_only() {
        for (brokers, want) in [
            (
                "b-1.c.x.c2.kafka.us-east-1.amazonaws.com:9098",
                Some("us-east-1"),
            ),
            (
                "boot-ab.c1.kafka-serverless.ap-southeast-2.amazonaws.com:9098",
                Some("ap-southeast-2"),
            ),
            (
                "127.0.0.1:29098, b-2.c.x.c3.kafka.eu-central-1.amazonaws.com:9098",
                Some("eu-central-1"),
            ),
            (
                "b-1.c.x.c2.kafka.cn-north-1.amazonaws.com.cn:9098",
                Some("cn-north-1"),
            ),
            ("kafka.example.com:9092", None),
            ("localhost:9092", None),
            ("", None),
        ] {
            assert_eq!(region_of_brokers(brokers).as_deref(), want, "{brokers}");
        }
    }
}
