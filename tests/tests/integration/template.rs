//! `template.yaml` against what else describes the shop: the table and queue
//! definitions in `shared`, `openapi.yaml`, the function crates and `events/`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gateway::routes::Router;
use gateway::template::{Event, Template, plain};
use serde_yaml_ng::Value;
use shared::adapters::queue;
use shared::adapters::store;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn template() -> Template {
    Template::load(&root().join("template.yaml")).expect("template.yaml parses")
}

/// A function crate's `main.rs`.
fn main_source(binary: &str) -> String {
    std::fs::read_to_string(root().join("functions").join(binary).join("src/main.rs")).expect("main.rs")
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).expect("readable");
    serde_yaml_ng::from_str(&text).expect("valid YAML")
}

fn strings(value: &Value) -> Vec<(String, String)> {
    value
        .as_sequence()
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let fields: Vec<String> = item
                        .as_mapping()
                        .expect("mapping")
                        .values()
                        .map(|v| plain(v).unwrap_or_default().to_owned())
                        .collect();
                    (fields[0].clone(), fields[1].clone())
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_table_matches_the_store_definition() {
    let template = template();
    let tables: Vec<_> = template.resources_of("AWS::DynamoDB::Table").collect();
    assert_eq!(tables.len(), 1, "one table");
    let table = &tables[0].1.properties;

    assert_eq!(
        strings(&table["KeySchema"]),
        [
            (store::PARTITION_KEY.to_owned(), "HASH".to_owned()),
            (store::SORT_KEY.to_owned(), "RANGE".to_owned())
        ]
    );
    let mut expected_attributes = vec![store::PARTITION_KEY, store::SORT_KEY];
    for gsi in store::GSIS {
        expected_attributes.extend([gsi.partition_key, gsi.sort_key]);
    }
    let attributes: BTreeSet<_> = strings(&table["AttributeDefinitions"]).into_iter().collect();
    let expected: BTreeSet<_> = expected_attributes
        .iter()
        .map(|name| ((*name).to_owned(), "S".to_owned()))
        .collect();
    assert_eq!(attributes, expected);

    let indexes = table["GlobalSecondaryIndexes"].as_sequence().expect("GSIs");
    assert_eq!(indexes.len(), store::GSIS.len());
    for gsi in store::GSIS {
        let declared = indexes
            .iter()
            .find(|index| index["IndexName"].as_str() == Some(gsi.name))
            .unwrap_or_else(|| panic!("{} is not in template.yaml", gsi.name));
        assert_eq!(
            strings(&declared["KeySchema"]),
            [
                (gsi.partition_key.to_owned(), "HASH".to_owned()),
                (gsi.sort_key.to_owned(), "RANGE".to_owned())
            ]
        );
        if gsi.projected.is_empty() {
            assert_eq!(declared["Projection"]["ProjectionType"].as_str(), Some("ALL"));
        } else {
            assert_eq!(declared["Projection"]["ProjectionType"].as_str(), Some("INCLUDE"));
            let attributes: Vec<&str> = declared["Projection"]["NonKeyAttributes"]
                .as_sequence()
                .expect("NonKeyAttributes")
                .iter()
                .filter_map(|a| a.as_str())
                .collect();
            assert_eq!(attributes, gsi.projected, "{}", gsi.name);
        }
    }
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some(store::TTL_ATTRIBUTE)
    );
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"].as_bool(), Some(true));
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
    assert_eq!(table["SSESpecification"]["SSEEnabled"].as_bool(), Some(true));
    assert_eq!(table["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
}

/// A dead-letter queue `dlq` is in the template, keeps its messages as
/// long as the queues' DLQs do, and has an alarm on its depth.
fn assert_kept_and_alarmed(template: &Template, dlq: &str) {
    let (_, resource) = template
        .resources_of("AWS::SQS::Queue")
        .find(|(id, _)| **id == dlq)
        .unwrap_or_else(|| panic!("DLQ {dlq} is not in template.yaml"));
    assert_eq!(
        resource.properties["MessageRetentionPeriod"].as_u64(),
        Some(u64::from(queue::DLQ_RETENTION_SECS))
    );
    let alarmed = template.resources_of("AWS::CloudWatch::Alarm").any(|(_, alarm)| {
        alarm.properties["Dimensions"][0]["Value"]
            .as_tagged()
            .is_some_and(|v| plain(&v.value) == Some(&format!("{dlq}.QueueName")))
    });
    assert!(alarmed, "no alarm on the depth of {dlq}");
}

#[test]
fn the_queues_match_the_queue_definitions() {
    let template = template();
    let declared: BTreeSet<_> = template
        .resources_of("AWS::SQS::Queue")
        .map(|(id, _)| id.clone())
        .collect();
    let mut expected = BTreeSet::new();
    for spec in queue::QUEUES {
        let (_, resource) = template
            .resources_of("AWS::SQS::Queue")
            .find(|(id, _)| *id == spec.logical_id)
            .unwrap_or_else(|| panic!("{} is not in template.yaml", spec.logical_id));
        let props = &resource.properties;
        // A parameter (a local deploy shortens it), whose default is the spec's.
        let visibility = props["VisibilityTimeout"]
            .as_tagged()
            .expect("!Ref QueueVisibilityTimeoutSeconds");
        assert_eq!(visibility.value.as_str(), Some("QueueVisibilityTimeoutSeconds"));
        assert_eq!(
            yaml("template.yaml")["Parameters"]["QueueVisibilityTimeoutSeconds"]["Default"].as_u64(),
            Some(u64::from(spec.visibility_timeout_secs))
        );
        assert_eq!(
            props["MessageRetentionPeriod"].as_u64(),
            Some(u64::from(queue::RETENTION_SECS))
        );
        let redrive = &props["RedrivePolicy"];
        assert_eq!(
            redrive["maxReceiveCount"].as_u64(),
            Some(u64::from(spec.max_receive_count))
        );
        let dlq = plain(&redrive["deadLetterTargetArn"])
            .expect("a DLQ")
            .trim_end_matches(".Arn")
            .to_owned();
        assert_kept_and_alarmed(&template, &dlq);
        expected.insert(spec.logical_id.to_owned());
        expected.insert(dlq);
    }
    // A stream consumer's dead-letter queue: where a record it gave up on
    // goes, kept as long and alarmed as the queues' DLQs.
    for (_, function) in template.resources_of("AWS::Serverless::Function") {
        for (_, event) in function.properties["Events"].as_mapping().into_iter().flatten() {
            if event["Type"].as_str() != Some("DynamoDB") {
                continue;
            }
            let dlq = plain(&event["Properties"]["DestinationConfig"]["OnFailure"]["Destination"])
                .expect("a stream consumer has an on-failure destination")
                .trim_end_matches(".Arn")
                .to_owned();
            assert_kept_and_alarmed(&template, &dlq);
            expected.insert(dlq);
        }
    }
    assert_eq!(
        declared, expected,
        "queues in template.yaml but not in shared::queue"
    );
}

trait AsTagged {
    fn as_tagged(&self) -> Option<&serde_yaml_ng::value::TaggedValue>;
}

impl AsTagged for Value {
    fn as_tagged(&self) -> Option<&serde_yaml_ng::value::TaggedValue> {
        match self {
            Value::Tagged(tagged) => Some(tagged),
            _ => None,
        }
    }
}

#[test]
fn routes_match_openapi_both_ways() {
    let template = template();
    // The admin console's routes serve the files of a web page, not the
    // API: openapi.yaml does not describe them (docs/decisions/0074).
    let routes: BTreeSet<String> = Router::new(&template.functions)
        .routes()
        .iter()
        .filter(|route| route.binary != "admin-console")
        .map(|route| route.route_key())
        .collect();
    let openapi = yaml("openapi.yaml");
    let mut documented = BTreeSet::new();
    for (path, operations) in openapi["paths"].as_mapping().expect("paths") {
        for method in operations.as_mapping().expect("operations").keys() {
            let method = method.as_str().expect("method").to_ascii_uppercase();
            if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                documented.insert(format!("{method} {}", path.as_str().expect("path")));
            }
        }
    }
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&routes).collect();
    assert!(
        undocumented.is_empty(),
        "in template.yaml, not in openapi.yaml: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "in openapi.yaml, not in template.yaml: {unserved:?}"
    );
}

#[test]
fn every_function_crate_is_deployed_least_privileged_with_a_sample_event() {
    let template = template();
    let crates: BTreeSet<String> = std::fs::read_dir(root().join("functions"))
        .expect("functions/")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let binaries: BTreeSet<String> = template.functions.iter().map(|f| f.binary.clone()).collect();
    assert_eq!(crates, binaries, "functions/ and template.yaml disagree");

    let document = yaml("template.yaml");
    let globals = &document["Globals"]["Function"];
    assert_eq!(globals["Runtime"].as_str(), Some("provided.al2023"));
    // arm64 unless a deploy says otherwise (x86_64 to a local emulator).
    let architecture = globals["Architectures"][0]
        .as_tagged()
        .expect("!Ref Architecture");
    assert_eq!(architecture.tag.to_string(), "!Ref");
    assert_eq!(architecture.value.as_str(), Some("Architecture"));
    assert_eq!(
        document["Parameters"]["Architecture"]["Default"].as_str(),
        Some("arm64")
    );

    for function in &template.functions {
        let resource = &template.document.resources[&function.logical_id];
        assert_eq!(
            resource.metadata["BuildMethod"].as_str(),
            Some("rust-cargolambda")
        );
        assert_eq!(
            resource.properties["CodeUri"].as_str(),
            Some(format!("functions/{}", function.binary).as_str())
        );
        let policies = resource.properties["Policies"]
            .as_sequence()
            .expect("own policies");
        for statement in policies
            .iter()
            .filter_map(|p| p["Statement"].as_sequence())
            .flatten()
        {
            let actions = statement["Action"].as_sequence().expect("actions");
            for action in actions {
                let action = action.as_str().expect("action");
                assert!(
                    !action.contains('*'),
                    "{}: wildcard action {action}",
                    function.binary
                );
                assert_ne!(action, "dynamodb:Scan", "{}: no Scan", function.binary);
            }
        }

        let sample = root().join("events").join(format!("{}.json", function.binary));
        let text =
            std::fs::read_to_string(&sample).unwrap_or_else(|_| panic!("{} is missing", sample.display()));
        // An HTTP function's sample is a request on one of its routes.
        let keys: Vec<String> = function
            .events
            .iter()
            .filter_map(|event| match event {
                Event::Http { path, .. } if path == "$default" => Some(path.clone()),
                Event::Http { method, path } => Some(format!("{method} {path}")),
                _ => None,
            })
            .collect();
        if !keys.is_empty() {
            let parsed: aws_lambda_events::apigw::ApiGatewayV2httpRequest =
                serde_json::from_str(&text).expect("a payload v2 event");
            let key = parsed.route_key.unwrap_or_default();
            assert!(
                keys.contains(&key),
                "{}: {key} is none of {keys:?}",
                function.binary
            );
        }
    }
}

#[test]
fn the_token_key_reaches_only_the_functions_that_use_it() {
    let template = template();
    // No token to check: these never see the token key. The public
    // listings page with the cursor key, which cannot sign a token.
    let without = [
        "auth-register",
        "auth-verify",
        "auth-password-reset",
        "auth-password-reset-confirm",
        "products-get",
        "products-list",
        "markets-get",
        "markets-list",
        "reviews-list",
        "payments-webhook",
        "carrier-webhook",
        "not-found",
        // The console's files are public; its API calls carry the token.
        "admin-console",
    ];
    let listings = [
        "products-list",
        "markets-list",
        "reviews-list",
        "orders-list",
        "users-list-reviews",
        "tax-rates-list",
        "duty-rates-list",
        "promotions-list",
        "admin-orders-list",
        "admin-customers-list",
        // A customer's newest orders, through the orders' own listing.
        "admin-customers-get",
    ];
    for function in &template.functions {
        let variables =
            &template.document.resources[&function.logical_id].properties["Environment"]["Variables"];
        let http = function.events.iter().any(|e| matches!(e, Event::Http { .. }));
        let needs_key = http && !without.contains(&function.binary.as_str());
        assert_eq!(
            !variables["JWT_SECRET_PARAMETER"].is_null(),
            needs_key,
            "{}: JWT_SECRET_PARAMETER",
            function.binary
        );
        assert_eq!(
            !variables["CURSOR_SECRET_PARAMETER"].is_null(),
            listings.contains(&function.binary.as_str()),
            "{}: CURSOR_SECRET_PARAMETER",
            function.binary
        );
    }
    let globals = &yaml("template.yaml")["Globals"]["Function"]["Environment"]["Variables"];
    assert!(globals["JWT_SECRET_PARAMETER"].is_null(), "not a global");
}

/// No secret is in any function's environment, only the names of their
/// parameters; each function may read exactly the parameters it names.
#[test]
fn each_function_reads_only_its_own_secrets_from_parameter_store() {
    let template = template();
    for function in &template.functions {
        let resource = &template.document.resources[&function.logical_id];
        let variables = &resource.properties["Environment"]["Variables"];
        let mut named = BTreeSet::new();
        for secret in shared::adapters::secrets::SECRETS {
            assert!(
                variables[secret].is_null(),
                "{}: {secret} in the environment",
                function.binary
            );
            let setting = shared::adapters::secrets::parameter_setting(secret);
            if let Some(parameter) = plain(&variables[setting.as_str()]) {
                named.insert(parameter.to_owned());
            }
        }
        let mut readable = BTreeSet::new();
        for statement in resource.properties["Policies"]
            .as_sequence()
            .expect("own policies")
            .iter()
            .filter_map(|p| p["Statement"].as_sequence())
            .flatten()
        {
            let actions = format!("{:?}", statement["Action"]);
            if !actions.contains("ssm:") {
                continue;
            }
            // One GetParameters call at cold start reads them all.
            assert_eq!(
                statement["Action"].as_sequence().map(Vec::len),
                Some(1),
                "{}",
                function.binary
            );
            assert_eq!(statement["Action"][0].as_str(), Some("ssm:GetParameters"));
            for arn in statement["Resource"].as_sequence().expect("resources") {
                let arn = plain(arn).expect("an ARN");
                let parameter = arn
                    .rsplit_once(":parameter${")
                    .and_then(|(_, rest)| rest.strip_suffix('}'))
                    .unwrap_or_else(|| panic!("{}: {arn} is not one parameter", function.binary));
                readable.insert(parameter.to_owned());
            }
        }
        assert_eq!(readable, named, "{}", function.binary);
    }
}

/// The DynamoDB actions a function may take on the table itself (not its
/// indexes).
fn table_actions(template: &Template, logical_id: &str) -> BTreeSet<String> {
    template.document.resources[logical_id].properties["Policies"]
        .as_sequence()
        .expect("own policies")
        .iter()
        .filter_map(|p| p["Statement"].as_sequence())
        .flatten()
        .filter(|statement| {
            // The table itself (`!GetAtt Table.Arn`), not its indexes.
            let resource = format!("{:?}", statement["Resource"]);
            resource.contains("Table.Arn") && !resource.contains("/index/")
        })
        .filter_map(|statement| statement["Action"].as_sequence())
        .flatten()
        .filter_map(|action| action.as_str().map(str::to_owned))
        .collect()
}

/// What the shared entry code does in a function decides actions its
/// policy must allow, which the local emulator never enforces: a function
/// that honours `Idempotency-Key` claims a record (`PutItem`), reads one it
/// finds (`GetItem`) and records, takes over or releases it (`UpdateItem`);
/// one that authenticates its caller reads the user's last password change
/// (`GetItem`).
#[test]
fn entry_code_gets_the_actions_it_needs() {
    let template = template();
    for function in &template.functions {
        let source = main_source(&function.binary);
        let mut needed = BTreeSet::new();
        if source.contains("idempotency::once") {
            needed.extend(["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"]);
        }
        if source.contains("request.caller(") || source.contains("request.admin(") {
            needed.insert("dynamodb:GetItem");
        }
        // Use cases whose store calls the entry code does not show: a right
        // password clears the address's login attempts (`DeleteItem`).
        // (The deployed stack, with IAM enforced, checks the rest.)
        for (call, actions) in [
            (
                "users::login(",
                ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            ),
            (
                "users::change_password(",
                ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            ),
        ] {
            if source.contains(call) {
                needed.extend(actions);
            }
        }
        let allowed = table_actions(&template, &function.logical_id);
        for action in needed {
            assert!(
                allowed.contains(action),
                "{} may not {action}: {allowed:?}",
                function.binary
            );
        }
    }
}

/// The provider's key goes exactly to the functions that call the provider
/// (start a payment, cancel an intent, refund, refund a payment no order can
/// take), with the provider's name: without `PAYMENT_PROVIDER` a function
/// would fall back to the sandbox and only pretend to refund.
#[test]
fn the_provider_key_reaches_only_the_functions_that_call_the_provider() {
    let template = template();
    let callers = [
        "payments-create",
        "payments-webhook",
        "refunds-worker",
        "orders-cancel",
        "orders-expire",
    ];
    for function in &template.functions {
        let variables =
            &template.document.resources[&function.logical_id].properties["Environment"]["Variables"];
        let calls = callers.contains(&function.binary.as_str());
        assert_eq!(
            !variables["STRIPE_API_KEY_PARAMETER"].is_null(),
            calls,
            "{}: STRIPE_API_KEY_PARAMETER",
            function.binary
        );
        assert_eq!(
            !variables["PAYMENT_PROVIDER"].is_null(),
            calls,
            "{}: PAYMENT_PROVIDER",
            function.binary
        );
    }
}

/// One sample per webhook event the shop acts on (`events/payments-webhook.<kind>.json`),
/// each an API Gateway payload whose body reads as that event.
#[test]
fn every_webhook_event_the_shop_acts_on_has_a_sample() {
    use shared::model::payments::{ProviderEvent, parse_event};
    let expected = [
        ("payments-webhook.json", "PaymentSucceeded"),
        ("payments-webhook.payment_failed.json", "PaymentFailed"),
        ("payments-webhook.processing.json", "PaymentProcessing"),
        ("payments-webhook.charge_refunded.json", "ChargeRefunded"),
        ("payments-webhook.dispute_created.json", "Dispute"),
        ("payments-webhook.dispute_closed.json", "Dispute"),
        ("payments-webhook.refund_failed.json", "RefundFailed"),
    ];
    for (file, kind) in expected {
        let text = std::fs::read_to_string(root().join("events").join(file)).expect(file);
        let request: aws_lambda_events::apigw::ApiGatewayV2httpRequest =
            serde_json::from_str(&text).expect("a payload v2 event");
        assert_eq!(request.route_key.as_deref(), Some("POST /payments/webhook"));
        let body = request.body.expect("a body");
        let event = parse_event(body.as_bytes()).expect(file).event;
        assert!(!matches!(event, ProviderEvent::Other(_)), "{file}: {event:?}");
        assert!(format!("{event:?}").starts_with(kind), "{file}: {event:?}");
    }
}

/// Operations are wired in the template: active tracing, every function
/// logging to a log group with a retention, the API's access log, an alarm
/// on function errors, throttles, the API's 5xx, refused refunds, disputes
/// and each DLQ, every alarm sent to the SNS topic (whose email is a
/// parameter), and the table and queues kept when the stack goes.
#[test]
fn operations_are_wired_alarms_logs_tracing_and_retention() {
    let doc = yaml("template.yaml");
    let resources = doc["Resources"].as_mapping().expect("resources");
    let kind = |resource: &Value| plain(&resource["Type"]).unwrap_or_default().to_owned();
    let globals = &doc["Globals"]["Function"];
    assert_eq!(plain(&globals["Tracing"]), Some("Active"));
    assert_eq!(plain(&globals["LoggingConfig"]["LogGroup"]), Some("FunctionLogs"));
    for group in ["FunctionLogs", "ApiAccessLogs"] {
        let resource = &doc["Resources"][group];
        assert_eq!(kind(resource), "AWS::Logs::LogGroup");
        assert_eq!(
            plain(&resource["Properties"]["RetentionInDays"]),
            Some("LogRetentionDays")
        );
    }
    assert!(!doc["Parameters"]["LogRetentionDays"].is_null());
    assert_eq!(
        plain(&doc["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]["DestinationArn"]),
        Some("ApiAccessLogs.Arn")
    );
    assert_eq!(
        plain(&doc["Resources"]["AlarmEmailSubscription"]["Properties"]["Endpoint"]),
        Some("AlarmEmail")
    );

    let alarms: Vec<(String, &Value)> = resources
        .iter()
        .filter(|(_, resource)| kind(resource) == "AWS::CloudWatch::Alarm")
        .map(|(name, resource)| (name.as_str().expect("name").to_owned(), resource))
        .collect();
    for (name, alarm) in &alarms {
        let actions = alarm["Properties"]["AlarmActions"].as_sequence();
        assert!(
            actions.is_some_and(|a| a.iter().any(|action| plain(action) == Some("AlarmTopic"))),
            "{name} notifies no one"
        );
    }
    let watched: Vec<String> = alarms
        .iter()
        .map(|(_, alarm)| {
            let properties = &alarm["Properties"];
            format!(
                "{}/{}",
                plain(&properties["Namespace"]).unwrap_or_default(),
                plain(&properties["MetricName"]).unwrap_or_default()
            )
        })
        .collect();
    for metric in [
        "Shop/FunctionErrors",
        "AWS/Lambda/Throttles",
        "AWS/ApiGateway/5xx",
        "Shop/RefusedRefunds",
        "Shop/WebhookEvents",
    ] {
        assert!(
            watched.iter().any(|w| w == metric),
            "no alarm on {metric}: {watched:?}"
        );
    }
    let dlqs = ["ShippingDeadLetterQueue", "RefundsDeadLetterQueue"];
    for dlq in dlqs {
        assert!(
            alarms
                .iter()
                .any(|(_, alarm)| format!("{:?}", alarm["Properties"]["Dimensions"]).contains(dlq)),
            "no alarm on {dlq}"
        );
    }
    for (name, resource) in resources {
        if matches!(
            kind(resource).as_str(),
            "AWS::DynamoDB::Table" | "AWS::SQS::Queue"
        ) {
            for policy in ["DeletionPolicy", "UpdateReplacePolicy"] {
                assert_eq!(plain(&resource[policy]), Some("Retain"), "{name:?}: {policy}");
            }
        }
    }
}

/// Each function builds and links exactly the parts of the app that its
/// deployment gives it settings for (`main.rs` names them): the secrets of
/// any `*_PARAMETER`, the queues of any `*_QUEUE_URL`, the provider with
/// `PAYMENT_PROVIDER`. A part missing would fail its calls; a part too many
/// would cost size and cold start for nothing.
#[test]
fn each_function_builds_the_parts_its_deployment_configures() {
    let template = template();
    for function in &template.functions {
        let source = main_source(&function.binary);
        let named: BTreeSet<&str> = source
            .lines()
            .filter_map(|line| line.trim().strip_prefix("use shared::app::parts::"))
            .flat_map(|rest| {
                rest.trim_end_matches(';')
                    .trim_matches(|c| c == '{' || c == '}')
                    .split(',')
                    .map(str::trim)
            })
            .collect();
        let variables =
            &template.document.resources[&function.logical_id].properties["Environment"]["Variables"];
        let names: Vec<String> = variables
            .as_mapping()
            .map(|m| m.keys().filter_map(|k| k.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let mut expected = BTreeSet::new();
        if names.iter().any(|n| n.ends_with("_PARAMETER")) {
            expected.insert("Secrets");
        }
        if names.iter().any(|n| n.ends_with("_QUEUE_URL")) {
            expected.insert("Queues");
        }
        if names.iter().any(|n| n == "PAYMENT_PROVIDER") {
            expected.insert("Provider");
        }
        if names.iter().any(|n| n == "CARRIER") {
            expected.insert("Carrier");
        }
        if names.iter().any(|n| n == "EVENT_BUS_NAME") {
            expected.insert("Outbound");
        }
        assert_eq!(named, expected, "{}: the parts main.rs builds", function.binary);
    }
}

/// Every numeric parameter is bounded (`MinValue` and `MaxValue`, or
/// `AllowedValues`), and one that becomes a setting the code bounds
/// (`shared::app::BOUNDED_SETTINGS`) stays inside the code's range: a deploy
/// cannot pass a value that would stop the functions at cold start.
#[test]
fn numeric_parameters_are_bounded_within_what_the_code_accepts() {
    let doc = yaml("template.yaml");
    let parameters = doc["Parameters"].as_mapping().expect("parameters");
    let template = template();
    for (name, parameter) in parameters {
        let name = name.as_str().expect("name");
        if parameter["Type"].as_str() != Some("Number") || !parameter["AllowedValues"].is_null() {
            continue;
        }
        let (Some(min), Some(max)) = (parameter["MinValue"].as_i64(), parameter["MaxValue"].as_i64()) else {
            panic!("{name}: a Number parameter needs MinValue and MaxValue");
        };
        let default = parameter["Default"].as_i64();
        assert!(
            default.is_none_or(|d| (min..=max).contains(&d)),
            "{name}: default outside its bounds"
        );
        for function in &template.functions {
            let variables =
                &template.document.resources[&function.logical_id].properties["Environment"]["Variables"];
            for spec in shared::app::BOUNDED_SETTINGS {
                if plain(&variables[spec.name]) == Some(name) {
                    assert!(
                        spec.min <= min && max <= spec.max,
                        "{name} ({min}..={max}) feeds {} of {}, which accepts {}..={}",
                        spec.name,
                        function.binary,
                        spec.min,
                        spec.max
                    );
                }
            }
        }
    }
    // Through Globals too.
    let globals = &doc["Globals"]["Function"]["Environment"]["Variables"];
    let ttl = plain(&globals["ORDER_TTL_SECONDS"]).expect("ORDER_TTL_SECONDS in Globals");
    assert_eq!(doc["Parameters"][ttl]["MaxValue"].as_i64(), Some(604_800));
}

/// The functions that hash passwords (argon2id at 1,769 MB) cannot starve
/// the others: each has a reserved concurrency (its ceiling) from a
/// parameter, and its route a throttle of its own, lower than the API's
/// default, from parameters.
#[test]
fn password_functions_are_capped_and_their_routes_throttled() {
    let doc = yaml("template.yaml");
    let template = template();
    let route_settings = &doc["Resources"]["HttpApi"]["Properties"]["RouteSettings"];
    let default_rate = doc["Parameters"]["ApiRateLimit"]["Default"]
        .as_i64()
        .expect("ApiRateLimit");
    let mut capped = BTreeSet::new();
    for function in &template.functions {
        let properties = &template.document.resources[&function.logical_id].properties;
        if properties["MemorySize"].as_i64() != Some(1769) {
            continue;
        }
        let reserved = plain(&properties["ReservedConcurrentExecutions"])
            .unwrap_or_else(|| panic!("{}: no reserved concurrency", function.binary));
        assert!(
            doc["Parameters"][reserved]["Default"].as_i64().is_some(),
            "{}: {reserved} has no default",
            function.binary
        );
        for event in &function.events {
            if let Event::Http { method, path } = event {
                let route = &route_settings[format!("{method} {path}").as_str()];
                let rate = plain(&route["ThrottlingRateLimit"])
                    .unwrap_or_else(|| panic!("{method} {path}: no throttle of its own"));
                assert!(plain(&route["ThrottlingBurstLimit"]).is_some());
                let rate = doc["Parameters"][rate]["Default"].as_i64().expect("a default");
                assert!(rate < default_rate, "{method} {path}: {rate}/s");
            }
        }
        capped.insert(function.binary.clone());
    }
    assert_eq!(
        capped,
        BTreeSet::from([
            "auth-login".into(),
            "auth-register".into(),
            "auth-password-reset-confirm".into(),
            "users-change-password".into()
        ])
    );
}

/// Alarms can reach someone: the topic is encrypted with a key of the
/// stack's own whose policy lets CloudWatch use it (the AWS-managed
/// `alias/aws/sns` key cannot), and an email subscription is required to
/// deploy (`AlarmEmail` has no default and no condition skips it).
#[test]
fn alarms_reach_someone() {
    let doc = yaml("template.yaml");
    let topic = &doc["Resources"]["AlarmTopic"]["Properties"];
    let key = plain(&topic["KmsMasterKeyId"]).expect("a key of the stack's own (!Ref)");
    assert_ne!(key, "alias/aws/sns");
    let key = &doc["Resources"][key];
    assert_eq!(plain(&key["Type"]), Some("AWS::KMS::Key"));
    assert_eq!(key["Properties"]["EnableKeyRotation"].as_bool(), Some(true));
    let statements = key["Properties"]["KeyPolicy"]["Statement"]
        .as_sequence()
        .expect("a key policy");
    let cloudwatch = statements
        .iter()
        .find(|s| s["Principal"]["Service"].as_str() == Some("cloudwatch.amazonaws.com"))
        .expect("CloudWatch may use the key");
    assert_eq!(cloudwatch["Effect"].as_str(), Some("Allow"));
    let actions: BTreeSet<&str> = cloudwatch["Action"]
        .as_sequence()
        .expect("actions")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(actions, BTreeSet::from(["kms:Decrypt", "kms:GenerateDataKey*"]));

    let email = &doc["Parameters"]["AlarmEmail"];
    assert!(email["Default"].is_null(), "AlarmEmail must be given");
    assert!(email["AllowedPattern"].as_str().is_some_and(|p| p.contains('@')));
    let subscription = &doc["Resources"]["AlarmEmailSubscription"];
    assert!(
        subscription["Condition"].is_null(),
        "the subscription is always made"
    );
    assert_eq!(plain(&subscription["Properties"]["TopicArn"]), Some("AlarmTopic"));
    assert_eq!(plain(&subscription["Properties"]["Protocol"]), Some("email"));

    // The webhook's unknown intents are alarmed.
    let unknown = &doc["Resources"]["UnknownIntentsAlarm"]["Properties"];
    assert_eq!(plain(&unknown["MetricName"]), Some("WebhookEvents"));
    assert_eq!(
        unknown["Dimensions"][0]["Value"].as_str(),
        Some(shared::usecases::payments::WebhookOutcome::UnknownIntent.kind())
    );
}

/// The carrier's tracking events come through a webhook signed with its own
/// secret (no admin's password), and the carrier that ships is chosen by a
/// parameter without a default: no deployment starts with the sandbox's
/// made-up tracking numbers unless it says so.
#[test]
fn the_carrier_has_a_credential_of_its_own_and_is_chosen_on_purpose() {
    let doc = yaml("template.yaml");
    let template = template();
    let carrier = &doc["Parameters"]["Carrier"];
    assert!(carrier["Default"].is_null(), "no default carrier");
    let shipping = template
        .functions
        .iter()
        .find(|f| f.binary == "shipping-worker")
        .expect("the shipping worker");
    let variables = &template.document.resources[&shipping.logical_id].properties["Environment"]["Variables"];
    assert_eq!(plain(&variables["CARRIER"]), Some("Carrier"));
    let webhook = template
        .functions
        .iter()
        .find(|f| f.binary == "carrier-webhook")
        .expect("the carrier's webhook");
    assert!(
        webhook.events.iter().any(
            |e| matches!(e, Event::Http { method, path } if method == "POST" && path == "/carrier/events")
        )
    );
    let variables = &template.document.resources[&webhook.logical_id].properties["Environment"]["Variables"];
    assert_eq!(
        plain(&variables["CARRIER_WEBHOOK_SECRET_PARAMETER"]),
        Some("CarrierWebhookSecretParameter")
    );
    assert!(
        variables["JWT_SECRET_PARAMETER"].is_null(),
        "no token key: it authenticates by signature"
    );
    // The admins' route stays for people; the carrier's route is the webhook.
    let source = main_source("carrier-webhook");
    assert!(!source.contains("request.admin(") && !source.contains("request.caller("));
}

/// openapi.yaml's `Currency` enum is the list of currencies in use that
/// the shop parses (from its ISO data), no more, no less.
#[test]
fn the_contracts_currencies_are_the_ones_the_shop_knows() {
    let openapi = yaml("openapi.yaml");
    let listed: BTreeSet<String> = openapi["components"]["schemas"]["Currency"]["enum"]
        .as_sequence()
        .expect("an enum")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let known: BTreeSet<String> = shared::foundation::money::Currency::all()
        .map(|c| c.as_str().to_owned())
        .collect();
    assert_eq!(listed, known);
}

#[test]
fn the_contracts_countries_are_the_ones_the_address_data_knows() {
    let openapi = yaml("openapi.yaml");
    let sequence = openapi["components"]["schemas"]["CountryCode"]["enum"]
        .as_sequence()
        .expect("an enum");
    let listed: BTreeSet<String> = sequence
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        listed.len(),
        sequence.len(),
        "every code a string (\"NO\" quoted)"
    );
    let known: BTreeSet<String> = shared::model::addresses::countries().map(str::to_owned).collect();
    assert_eq!(listed, known);
}
