//! The composition root: settings, read once at cold start from the
//! environment, and the adapters built from them once and reused by every
//! invocation. Use cases take an [`App`]; entry points build it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::adapters::carrier::{Carrier, SandboxCarrier};
use crate::adapters::payments::{PaymentProvider, SandboxProvider, StripeProvider};
use crate::adapters::queue::Queues;
use crate::adapters::store::Store;
use crate::foundation::error::{BoxError, Error};
use crate::foundation::money::Currency;
pub use crate::foundation::secret::Secret;
use crate::model::orders::OrderLimits;
use crate::model::payments::ProviderKind;
use crate::model::quote::Setup;
use crate::model::users::CountryCode;
use crate::model::users::{LoginLimits, MAX_LOGIN_ATTEMPTS_PER_EMAIL, MAX_LOGIN_FAILURES};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// Every setting a function reads. Names are the environment variables'.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the single DynamoDB table.
    pub table_name: String,
    /// `JWT_SECRET`: HS256 key for access tokens, at least 32 bytes. Only
    /// the functions that issue or check tokens are given it.
    pub jwt_secret: Option<Secret>,
    /// `CURSOR_SECRET`: authenticates pagination cursors, at least 32 bytes;
    /// a key of its own, so the public listings hold no token key.
    pub cursor_secret: Option<Secret>,
    /// `STORE_CURRENCY`: the base currency, of every product's `price`
    /// (default `USD`); the default market sells in it.
    pub store_currency: Currency,
    /// `STORE_COUNTRY`: the store's own country, a product's origin unless
    /// it names one (default `US`).
    pub store_country: CountryCode,
    /// `CONFIG_CACHE_SECONDS`: how long a function keeps the markets and
    /// exchange rates it read (0..=60, default 60).
    pub config_cache_secs: u64,
    /// `FX_RATES_URL`: the ECB's euro reference rates (XML), read by the
    /// daily refresh.
    pub fx_rates_url: Option<String>,
    /// `ORDER_TTL_SECONDS`: how long an order may stay unpaid (default 1800).
    pub order_ttl_secs: i64,
    /// `PAYMENT_PROVIDER`: `stripe` or `sandbox` (default `sandbox`).
    pub payment_provider: ProviderKind,
    /// `PAYMENT_WEBHOOK_SECRET`: verifies the provider's webhook signatures.
    pub webhook_secret: Option<Secret>,
    /// `STRIPE_API_KEY`: the secret key for Stripe's API.
    pub stripe_api_key: Option<Secret>,
    /// `STRIPE_API_BASE`: Stripe's API (default `https://api.stripe.com`).
    pub stripe_api_base: String,
    /// `CARRIER`: the carrier that sells shipping labels (`sandbox`, the only
    /// one so far). No default: a deployment names it, so none ships with
    /// the sandbox's made-up tracking numbers by accident.
    pub carrier: Option<String>,
    /// `CARRIER_WEBHOOK_SECRET`: verifies the carrier's tracking events.
    pub carrier_webhook_secret: Option<Secret>,
    /// `SHIPPING_QUEUE_URL`, `REFUNDS_QUEUE_URL`: where messages go.
    pub shipping_queue_url: Option<String>,
    pub refunds_queue_url: Option<String>,
    /// `SHIPPING_DELAY_SECONDS`: how long a paid order waits before the
    /// shipping worker sees it (0..=900, default 0).
    pub shipping_delay_secs: u32,
    /// `RECONCILE_GRACE_SECONDS`: how long a hand-off may be owed before the
    /// reconciler sends it again (10..=86400, default 300).
    pub reconcile_grace_secs: i64,
    /// `MAX_UNPAID_ORDERS` (1..=1000, default 3) and
    /// `MAX_UNITS_PER_PRODUCT` (1..=100, default 10): what one customer may
    /// hold unpaid.
    pub order_limits: OrderLimits,
    /// The login and sign-up limits (`LOGIN_FAILURES_PER_CLIENT`,
    /// `LOGIN_FAILURES_PER_ADDRESS`, `LOGIN_FAILURES_PER_EMAIL`,
    /// `LOGIN_FAILURES_PER_DEVICE`, `REGISTRATIONS_PER_ADDRESS`).
    pub login_limits: LoginLimits,
    /// `ACCOUNT_TOKEN_SECRET`: derives the verification and reset tokens
    /// (at least 32 bytes; model::accounts).
    pub account_token_secret: Option<Secret>,
    /// `REQUIRE_VERIFIED_EMAIL`: whether placing an order takes a verified
    /// email (`true` unless set to `false`).
    pub require_verified_email: bool,
    /// `EMAIL_FROM`: the SES identity the shop's emails come from.
    pub email_from: Option<String>,
    /// `SES_CONFIGURATION_SET`: the configuration set every email is sent
    /// with (its bounce and complaint events feed the suppression list).
    pub ses_configuration_set: Option<String>,
    /// `EVENT_BUS_NAME`: the shop's own EventBridge bus.
    pub event_bus_name: Option<String>,
    /// `SHOP_URL`: the storefront's address, the base of the links in
    /// emails (default `http://127.0.0.1:3000`).
    pub shop_url: String,
}

/// A whole-number setting: its name, the range the code accepts and its
/// default. `tests/tests/integration/template.rs` holds every template parameter that
/// feeds one to a `MinValue`/`MaxValue` inside this range, so a deploy
/// cannot pass a value that would stop the functions at cold start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounded {
    pub name: &'static str,
    pub min: i64,
    pub max: i64,
    pub default: i64,
}

/// Every whole-number setting the code bounds.
pub const BOUNDED_SETTINGS: [Bounded; 13] = [
    Bounded {
        name: "CONFIG_CACHE_SECONDS",
        min: 0,
        max: 60,
        default: 60,
    },
    Bounded {
        name: "LOGIN_FAILURES_PER_CLIENT",
        min: 1,
        max: 100,
        default: MAX_LOGIN_FAILURES as i64,
    },
    Bounded {
        name: "LOGIN_FAILURES_PER_ADDRESS",
        min: 1,
        max: 1_000_000,
        default: 30,
    },
    Bounded {
        name: "LOGIN_FAILURES_PER_EMAIL",
        min: 1,
        max: 1_000_000,
        default: MAX_LOGIN_ATTEMPTS_PER_EMAIL as i64,
    },
    Bounded {
        name: "LOGIN_FAILURES_PER_DEVICE",
        min: 1,
        max: 100,
        default: 10,
    },
    Bounded {
        name: "REGISTRATIONS_PER_ADDRESS",
        min: 1,
        max: 1_000_000,
        default: 10,
    },
    Bounded {
        name: "PASSWORD_RESETS_PER_EMAIL",
        min: 1,
        max: 100,
        default: 3,
    },
    Bounded {
        name: "PASSWORD_RESETS_PER_ADDRESS",
        min: 1,
        max: 1_000_000,
        default: 20,
    },
    Bounded {
        name: "ORDER_TTL_SECONDS",
        min: 1,
        max: 7 * 24 * 3600,
        default: 1800,
    },
    Bounded {
        name: "MAX_UNPAID_ORDERS",
        min: 1,
        max: 1000,
        default: 3,
    },
    Bounded {
        name: "MAX_UNITS_PER_PRODUCT",
        min: 1,
        max: 100,
        default: 10,
    },
    Bounded {
        name: "SHIPPING_DELAY_SECONDS",
        min: 0,
        max: 900,
        default: 0,
    },
    Bounded {
        name: "RECONCILE_GRACE_SECONDS",
        min: 10,
        max: 86_400,
        default: 300,
    },
];

/// The setting `name` of [`BOUNDED_SETTINGS`], its default when unset.
fn bounded<T: TryFrom<i64>>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<T, ConfigError> {
    let spec = BOUNDED_SETTINGS
        .iter()
        .find(|b| b.name == name)
        .ok_or(ConfigError::Missing(name))?;
    let invalid = || ConfigError::Invalid {
        name,
        reason: format!("must be a whole number from {} to {}", spec.min, spec.max),
    };
    let value = match lookup(name).filter(|v| !v.is_empty()) {
        None => spec.default,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|v| (spec.min..=spec.max).contains(v))
            .ok_or_else(invalid)?,
    };
    T::try_from(value).map_err(|_| invalid())
}

/// The shortest `JWT_SECRET` accepted: HS256 wants a key as long as its hash.
pub const MIN_SECRET_BYTES: usize = 32;

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so that tests need not touch the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            lookup(name)
                .filter(|v| !v.is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        let jwt_secret = lookup("JWT_SECRET").filter(|v| !v.is_empty());
        if jwt_secret.as_ref().is_some_and(|s| s.len() < MIN_SECRET_BYTES) {
            return Err(ConfigError::Invalid {
                name: "JWT_SECRET",
                reason: format!("must be at least {MIN_SECRET_BYTES} bytes"),
            });
        }
        let store_currency = lookup("STORE_CURRENCY")
            .filter(|v| !v.is_empty())
            .map_or_else(|| Currency::parse("USD".into()), Currency::parse)
            .and_then(|currency| {
                // The default market sells in it: the provider must charge it.
                if crate::model::charges::chargeable(currency) {
                    Ok(currency)
                } else {
                    Err(format!("the payment provider cannot charge {currency}"))
                }
            })
            .map_err(|reason| ConfigError::Invalid {
                name: "STORE_CURRENCY",
                reason,
            })?;
        let order_ttl_secs = bounded(&lookup, "ORDER_TTL_SECONDS")?;
        let optional = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let cursor_secret = optional("CURSOR_SECRET");
        if cursor_secret.as_ref().is_some_and(|s| s.len() < MIN_SECRET_BYTES) {
            return Err(ConfigError::Invalid {
                name: "CURSOR_SECRET",
                reason: format!("must be at least {MIN_SECRET_BYTES} bytes"),
            });
        }
        let store_country = match optional("STORE_COUNTRY") {
            None => CountryCode::known("US".into()),
            Some(code) => CountryCode::known(code),
        }
        .map_err(|reason| ConfigError::Invalid {
            name: "STORE_COUNTRY",
            reason,
        })?;
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            store_country,
            config_cache_secs: bounded(&lookup, "CONFIG_CACHE_SECONDS")?,
            fx_rates_url: optional("FX_RATES_URL"),
            jwt_secret: jwt_secret.map(Secret::new),
            cursor_secret: cursor_secret.map(Secret::new),
            store_currency,
            order_ttl_secs,
            payment_provider: match optional("PAYMENT_PROVIDER") {
                None => ProviderKind::Sandbox,
                Some(name) => ProviderKind::parse(&name).map_err(|reason| ConfigError::Invalid {
                    name: "PAYMENT_PROVIDER",
                    reason,
                })?,
            },
            webhook_secret: optional("PAYMENT_WEBHOOK_SECRET").map(Secret::new),
            stripe_api_key: optional("STRIPE_API_KEY").map(Secret::new),
            stripe_api_base: optional("STRIPE_API_BASE").unwrap_or_else(|| "https://api.stripe.com".into()),
            carrier: optional("CARRIER"),
            carrier_webhook_secret: optional("CARRIER_WEBHOOK_SECRET").map(Secret::new),
            shipping_queue_url: optional("SHIPPING_QUEUE_URL"),
            refunds_queue_url: optional("REFUNDS_QUEUE_URL"),
            shipping_delay_secs: bounded(&lookup, "SHIPPING_DELAY_SECONDS")?,
            order_limits: OrderLimits {
                max_unpaid_orders: bounded(&lookup, "MAX_UNPAID_ORDERS")?,
                max_units_per_product: bounded(&lookup, "MAX_UNITS_PER_PRODUCT")?,
            },
            reconcile_grace_secs: bounded(&lookup, "RECONCILE_GRACE_SECONDS")?,
            login_limits: LoginLimits {
                per_client: bounded(&lookup, "LOGIN_FAILURES_PER_CLIENT")?,
                per_address: bounded(&lookup, "LOGIN_FAILURES_PER_ADDRESS")?,
                per_email: bounded(&lookup, "LOGIN_FAILURES_PER_EMAIL")?,
                per_device: bounded(&lookup, "LOGIN_FAILURES_PER_DEVICE")?,
                registrations_per_address: bounded(&lookup, "REGISTRATIONS_PER_ADDRESS")?,
                resets_per_email: bounded(&lookup, "PASSWORD_RESETS_PER_EMAIL")?,
                resets_per_address: bounded(&lookup, "PASSWORD_RESETS_PER_ADDRESS")?,
            },
            account_token_secret: match optional("ACCOUNT_TOKEN_SECRET") {
                Some(secret) if secret.len() < MIN_SECRET_BYTES => {
                    return Err(ConfigError::Invalid {
                        name: "ACCOUNT_TOKEN_SECRET",
                        reason: format!("must be at least {MIN_SECRET_BYTES} bytes"),
                    });
                }
                secret => secret.map(Secret::new),
            },
            require_verified_email: match optional("REQUIRE_VERIFIED_EMAIL").as_deref() {
                None | Some("true") => true,
                Some("false") => false,
                Some(_) => {
                    return Err(ConfigError::Invalid {
                        name: "REQUIRE_VERIFIED_EMAIL",
                        reason: "must be true or false".into(),
                    });
                }
            },
            email_from: optional("EMAIL_FROM"),
            ses_configuration_set: optional("SES_CONFIGURATION_SET"),
            event_bus_name: optional("EVENT_BUS_NAME"),
            shop_url: optional("SHOP_URL")
                .map(|url| url.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| "http://127.0.0.1:3000".into()),
        })
    }

    /// The token key, which authentication and cursors cannot work without.
    pub fn jwt_secret(&self) -> Result<&Secret, Error> {
        self.jwt_secret
            .as_ref()
            .ok_or_else(|| Error::internal("JWT_SECRET is not set"))
    }

    /// The account-token key, which verification and resets cannot work
    /// without.
    pub fn account_token_secret(&self) -> Result<&Secret, Error> {
        self.account_token_secret
            .as_ref()
            .ok_or_else(|| Error::internal("ACCOUNT_TOKEN_SECRET is not set"))
    }

    /// The cursor key, which paged listings cannot work without.
    pub fn cursor_secret(&self) -> Result<&Secret, Error> {
        self.cursor_secret
            .as_ref()
            .ok_or_else(|| Error::internal("CURSOR_SECRET is not set"))
    }

    /// The carrier's webhook secret, which its webhook cannot work without.
    pub fn carrier_webhook_secret(&self) -> Result<&Secret, Error> {
        self.carrier_webhook_secret
            .as_ref()
            .ok_or_else(|| Error::internal("CARRIER_WEBHOOK_SECRET is not set"))
    }

    /// The webhook secret, which the webhook cannot work without.
    pub fn webhook_secret(&self) -> Result<&Secret, Error> {
        self.webhook_secret
            .as_ref()
            .ok_or_else(|| Error::internal("PAYMENT_WEBHOOK_SECRET is not set"))
    }
}

/// The markets and rates a function last read, and when: kept for
/// `CONFIG_CACHE_SECONDS` (read by the pricing use cases).
#[derive(Debug, Clone, Default)]
pub struct SetupCache(Arc<Mutex<Option<Kept>>>);

/// A setup and when it was read.
type Kept = (Instant, Arc<Setup>);

impl SetupCache {
    /// The setup, if it was read less than `max_age` ago.
    pub fn fresh(&self, max_age: Duration) -> Option<Arc<Setup>> {
        let cached = self.0.lock().ok()?;
        cached
            .as_ref()
            .filter(|(read_at, _)| read_at.elapsed() < max_age)
            .map(|(_, setup)| Arc::clone(setup))
    }

    /// Keeps `setup`, read now.
    pub fn keep(&self, setup: Arc<Setup>) {
        if let Ok(mut cached) = self.0.lock() {
            *cached = Some((Instant::now(), setup));
        }
    }
}

/// What a handler needs: settings and the clients, built once per process.
/// The table is always there; the queues and the payment provider only in
/// the functions whose `main` names their [`parts`], so that a function
/// links and builds only what it uses.
#[derive(Debug, Clone)]
pub struct App {
    pub config: Config,
    pub store: Store,
    queues: Option<Queues>,
    payments: Option<Arc<dyn PaymentProvider>>,
    carrier: Option<Arc<dyn Carrier>>,
    outbound: Option<crate::adapters::outbound::Outbound>,
    /// The markets and rates last read, by the pricing use cases.
    pub setup_cache: SetupCache,
}

impl App {
    /// The cold start of a function made of `parts`: reads the secrets its
    /// parts name from Parameter Store, then the configuration, and builds
    /// the table's client and each part's.
    pub async fn build<P: parts::Parts>(_parts: P) -> Result<Self, BoxError> {
        let aws = crate::adapters::aws_config()?;
        let env = |name: &str| std::env::var(name).ok();
        let secrets = P::secrets(&aws).await?;
        let config = Config::from_lookup(|name| secrets.get(name).cloned().or_else(|| env(name)))?;
        let mut app = Self::with_store(config, &aws);
        P::add(&mut app, &aws)?;
        Ok(app)
    }

    /// Every part, from settings given (tests and operator tools).
    pub fn new(config: Config, aws: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let mut app = Self::with_store(config, aws);
        <(parts::Queues, parts::Provider) as parts::Parts>::add(&mut app, aws)?;
        // The carrier where one is named (the tools, run against a deployed
        // stack, ship nothing and name none).
        if app.config.carrier.is_some() {
            <parts::Carrier as parts::Parts>::add(&mut app, aws)?;
        }
        if app.config.email_from.is_some() && app.config.event_bus_name.is_some() {
            <parts::Outbound as parts::Parts>::add(&mut app, aws)?;
        }
        Ok(app)
    }

    fn with_store(config: Config, aws: &aws_config::SdkConfig) -> Self {
        Self {
            store: Store::new(Store::client_for(aws), config.table_name.clone()),
            config,
            queues: None,
            payments: None,
            carrier: None,
            outbound: None,
            setup_cache: SetupCache::default(),
        }
    }

    /// The queues (the [`parts::Queues`] part).
    pub fn queues(&self) -> Result<&Queues, Error> {
        self.queues
            .as_ref()
            .ok_or_else(|| Error::internal("this function was built without the queues part"))
    }

    /// SES and the event bus (the [`parts::Outbound`] part).
    pub fn outbound(&self) -> Result<&crate::adapters::outbound::Outbound, Error> {
        self.outbound
            .as_ref()
            .ok_or_else(|| Error::internal("this function was built without the outbound part"))
    }

    /// The carrier (the [`parts::Carrier`] part).
    pub fn carrier(&self) -> Result<&dyn Carrier, Error> {
        self.carrier
            .as_deref()
            .ok_or_else(|| Error::internal("this function was built without the carrier part"))
    }

    /// The payment provider (the [`parts::Provider`] part).
    pub fn payments(&self) -> Result<&dyn PaymentProvider, Error> {
        self.payments
            .as_deref()
            .ok_or_else(|| Error::internal("this function was built without the provider part"))
    }
}

/// The parts of an [`App`] beyond the table, one type each: a function's
/// `main` names the parts it uses (`(Secrets, Queues)`), and only their code
/// is built and linked into it. `tests/tests/integration/template.rs` checks each
/// function's parts against what the template gives it.
pub mod parts {
    use std::collections::HashMap;
    use std::future::Future;

    use super::{App, ConfigError, carrier, provider};
    use crate::adapters::{outbound, queue};
    use crate::foundation::error::BoxError;

    /// What a part adds at cold start.
    pub trait Parts {
        /// Secrets to read before the configuration (name → value).
        fn secrets(
            _aws: &aws_config::SdkConfig,
        ) -> impl Future<Output = Result<HashMap<String, String>, BoxError>> {
            async { Ok(HashMap::new()) }
        }

        /// Builds the part's clients into `app`.
        fn add(_app: &mut App, _aws: &aws_config::SdkConfig) -> Result<(), ConfigError> {
            Ok(())
        }
    }

    /// The secrets named by `*_PARAMETER` settings, from Parameter Store.
    #[derive(Debug, Clone, Copy)]
    pub struct Secrets;

    /// The SQS queues (`SHIPPING_QUEUE_URL`, `REFUNDS_QUEUE_URL`).
    #[derive(Debug, Clone, Copy)]
    pub struct Queues;

    /// The payment provider (`PAYMENT_PROVIDER`: Stripe's HTTP client).
    #[derive(Debug, Clone, Copy)]
    pub struct Provider;

    /// The carrier (`CARRIER`, required: `sandbox`).
    #[derive(Debug, Clone, Copy)]
    pub struct Carrier;

    /// SES and the shop's event bus (`EMAIL_FROM`, `EVENT_BUS_NAME`,
    /// required).
    #[derive(Debug, Clone, Copy)]
    pub struct Outbound;

    impl Parts for () {}

    impl Parts for Secrets {
        fn secrets(
            aws: &aws_config::SdkConfig,
        ) -> impl Future<Output = Result<HashMap<String, String>, BoxError>> {
            crate::adapters::secrets::from_parameter_store(aws, |name| std::env::var(name).ok())
        }
    }

    impl Parts for Queues {
        fn add(app: &mut App, aws: &aws_config::SdkConfig) -> Result<(), ConfigError> {
            let config = &app.config;
            app.queues = Some(queue::Queues::new(
                queue::Queues::client_for(aws),
                config.shipping_queue_url.clone(),
                config.refunds_queue_url.clone(),
                config.shipping_delay_secs,
            ));
            Ok(())
        }
    }

    impl Parts for Provider {
        fn add(app: &mut App, _aws: &aws_config::SdkConfig) -> Result<(), ConfigError> {
            app.payments = Some(provider(&app.config)?);
            Ok(())
        }
    }

    impl Parts for Outbound {
        fn add(app: &mut App, aws: &aws_config::SdkConfig) -> Result<(), ConfigError> {
            let config = &app.config;
            let from = config
                .email_from
                .clone()
                .ok_or(ConfigError::Missing("EMAIL_FROM"))?;
            let bus = config
                .event_bus_name
                .clone()
                .ok_or(ConfigError::Missing("EVENT_BUS_NAME"))?;
            app.outbound = Some(outbound::Outbound::new(
                aws,
                from,
                config.ses_configuration_set.clone(),
                bus,
            ));
            Ok(())
        }
    }

    impl Parts for Carrier {
        fn add(app: &mut App, _aws: &aws_config::SdkConfig) -> Result<(), ConfigError> {
            app.carrier = Some(carrier(&app.config)?);
            Ok(())
        }
    }

    macro_rules! together {
        ($($part:ident),+) => {
            impl<$($part: Parts),+> Parts for ($($part,)+) {
                async fn secrets(
                    aws: &aws_config::SdkConfig,
                ) -> Result<HashMap<String, String>, BoxError> {
                    let mut all = HashMap::new();
                    $(all.extend($part::secrets(aws).await?);)+
                    Ok(all)
                }

                fn add(app: &mut App, aws: &aws_config::SdkConfig) -> Result<(), ConfigError> {
                    $($part::add(app, aws)?;)+
                    Ok(())
                }
            }
        };
    }
    together!(A);
    together!(A, B);
    together!(A, B, C);
    together!(A, B, C, D);
}

/// The carrier named by `CARRIER`; a function that ships cannot start
/// without one named.
fn carrier(config: &Config) -> Result<Arc<dyn Carrier>, ConfigError> {
    match config.carrier.as_deref() {
        Some("sandbox") => Ok(Arc::new(SandboxCarrier)),
        None => Err(ConfigError::Missing("CARRIER")),
        Some(other) => Err(ConfigError::Invalid {
            name: "CARRIER",
            reason: format!("{other:?} is not a carrier the shop knows (sandbox)"),
        }),
    }
}

/// The provider named by `PAYMENT_PROVIDER`.
fn provider(config: &Config) -> Result<Arc<dyn PaymentProvider>, ConfigError> {
    Ok(match config.payment_provider {
        ProviderKind::Sandbox => Arc::new(SandboxProvider),
        ProviderKind::Stripe => Arc::new(StripeProvider::new(
            config.stripe_api_base.clone(),
            config.stripe_api_key.clone(),
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn reads_required_settings() {
        let secret = "s".repeat(32);
        let config =
            Config::from_lookup(lookup(&[("TABLE_NAME", "shop"), ("JWT_SECRET", &secret)])).expect("valid");
        assert_eq!(config.table_name, "shop");
        assert_eq!(config.store_currency.as_str(), "USD");
        assert_eq!(config.order_ttl_secs, 1800);
        assert!(
            !format!("{config:?}").contains(&secret),
            "secret leaked into Debug"
        );
    }

    #[test]
    fn reads_optional_settings_and_refuses_bad_ones() {
        let secret = "s".repeat(32);
        let base = [("TABLE_NAME", "shop"), ("JWT_SECRET", secret.as_str())];
        let with = |extra: (&'static str, &'static str)| {
            let mut pairs = base.to_vec();
            pairs.push(extra);
            Config::from_lookup(lookup(&pairs))
        };
        let config = with(("STORE_CURRENCY", "eur")).expect("valid");
        assert_eq!(config.store_currency.as_str(), "EUR");
        assert_eq!(with(("ORDER_TTL_SECONDS", "5")).expect("valid").order_ttl_secs, 5);
        assert!(with(("STORE_CURRENCY", "euro")).is_err());
        assert!(
            with(("STORE_CURRENCY", "IQD")).is_err(),
            "the provider charges no IQD"
        );
        assert!(with(("ORDER_TTL_SECONDS", "0")).is_err());
        assert!(with(("ORDER_TTL_SECONDS", "soon")).is_err());
        assert!(
            with(("PAYMENT_PROVIDER", "paypal")).is_err(),
            "refused when read, not when used"
        );
        assert_eq!(
            with(("PAYMENT_PROVIDER", "stripe"))
                .expect("valid")
                .payment_provider,
            crate::model::payments::ProviderKind::Stripe
        );
    }

    #[test]
    fn refuses_short_secrets_and_reports_missing_ones_where_used() {
        let without =
            Config::from_lookup(lookup(&[("TABLE_NAME", "shop")])).expect("a worker needs no token key");
        assert!(without.jwt_secret().is_err());
        assert!(matches!(
            Config::from_lookup(lookup(&[("JWT_SECRET", &"s".repeat(32))])),
            Err(ConfigError::Missing("TABLE_NAME"))
        ));
        assert!(matches!(
            Config::from_lookup(lookup(&[("TABLE_NAME", "shop"), ("JWT_SECRET", "short")])),
            Err(ConfigError::Invalid {
                name: "JWT_SECRET",
                ..
            })
        ));
    }
}
