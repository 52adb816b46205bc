//! What the gateway (and the consistency tests) need from `template.yaml`:
//! each function's binary and its events.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_yaml_ng::Value;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("template.yaml is not valid: {0}")]
    Parse(#[from] serde_yaml_ng::Error),
    #[error("function {function}: {problem}")]
    Function { function: String, problem: String },
}

/// The raw document: resources by logical id.
#[derive(Debug, Deserialize)]
pub struct Document {
    #[serde(rename = "Resources")]
    pub resources: BTreeMap<String, Resource>,
}

#[derive(Debug, Deserialize)]
pub struct Resource {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Properties", default)]
    pub properties: Value,
    #[serde(rename = "Metadata", default)]
    pub metadata: Value,
}

/// An event source of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An HttpApi route: `method` upper case (or `ANY`), `path` as templated.
    Http { method: String, path: String },
    /// An SQS event source mapping from the queue with this logical id.
    Queue { queue: String, batch_size: u32 },
    /// A schedule expression such as `rate(5 minutes)`.
    Schedule { expression: String },
    /// A DynamoDB stream event source mapping (the table's stream).
    Stream { batch_size: u32 },
    /// An SNS subscription (nothing publishes to it locally: SES's
    /// feedback comes from AWS).
    Topic,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub logical_id: String,
    /// The cargo binary (and crate) name, from `Metadata.BuildProperties.Binary`.
    pub binary: String,
    pub events: Vec<Event>,
}

#[derive(Debug)]
pub struct Template {
    pub document: Document,
    pub functions: Vec<Function>,
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let document: Document = serde_yaml_ng::from_str(text)?;
        let functions = document
            .resources
            .iter()
            .filter(|(_, resource)| resource.kind == "AWS::Serverless::Function")
            .map(|(id, resource)| function(id, resource))
            .collect::<Result<_, _>>()?;
        Ok(Self { document, functions })
    }

    /// Every resource of one type, by logical id.
    pub fn resources_of<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a Resource)> + 'a {
        self.document
            .resources
            .iter()
            .filter(move |(_, r)| r.kind == kind)
    }
}

/// The path SAM gives the route of an `HttpApi` event without Path and
/// Method: API Gateway's `$default` route, taking what no other matches.
pub const DEFAULT_ROUTE: &str = "$default";

fn function(id: &str, resource: &Resource) -> Result<Function, TemplateError> {
    let problem = |problem: &str| TemplateError::Function {
        function: id.to_owned(),
        problem: problem.to_owned(),
    };
    let binary = resource.metadata["BuildProperties"]["Binary"]
        .as_str()
        .ok_or_else(|| problem("has no Metadata.BuildProperties.Binary"))?
        .to_owned();
    let mut events = Vec::new();
    if let Value::Mapping(declared) = &resource.properties["Events"] {
        for (name, event) in declared {
            let name = name.as_str().unwrap_or("?");
            let props = &event["Properties"];
            let text = |key: &str| {
                plain(&props[key])
                    .map(str::to_owned)
                    .ok_or_else(|| problem(&format!("event {name} has no {key}")))
            };
            match event["Type"].as_str() {
                // Neither Path nor Method: the API's $default route.
                Some("HttpApi") if props["Path"].is_null() && props["Method"].is_null() => {
                    events.push(Event::Http {
                        method: "ANY".to_owned(),
                        path: DEFAULT_ROUTE.to_owned(),
                    });
                }
                Some("HttpApi") => events.push(Event::Http {
                    method: text("Method")?.to_ascii_uppercase(),
                    path: text("Path")?,
                }),
                Some("SQS") => events.push(Event::Queue {
                    queue: text("Queue")?.trim_end_matches(".Arn").to_owned(),
                    batch_size: props["BatchSize"]
                        .as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .unwrap_or(10),
                }),
                Some("SNS") => events.push(Event::Topic),
                Some("DynamoDB") => events.push(Event::Stream {
                    batch_size: props["BatchSize"]
                        .as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .unwrap_or(100),
                }),
                Some("Schedule" | "ScheduleV2") => {
                    let key = if props["Schedule"].is_null() {
                        "ScheduleExpression"
                    } else {
                        "Schedule"
                    };
                    events.push(Event::Schedule {
                        expression: text(key)?,
                    });
                }
                _ => {
                    return Err(problem(&format!(
                        "event {name} has a type the gateway does not know"
                    )));
                }
            }
        }
    }
    Ok(Function {
        logical_id: id.to_owned(),
        binary,
        events,
    })
}

/// A string, or the string inside a short-form intrinsic such as
/// `!GetAtt Queue.Arn`.
pub fn plain(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Tagged(tagged) => tagged.value.as_str(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_functions_and_their_events() {
        let template = Template::parse(
            r#"
Resources:
  OrdersCancel:
    Type: AWS::Serverless::Function
    Metadata: { BuildMethod: rust-cargolambda, BuildProperties: { Binary: orders-cancel } }
    Properties:
      Events:
        Api: { Type: HttpApi, Properties: { Method: post, Path: "/orders/{id}/cancel" } }
        Queue: { Type: SQS, Properties: { Queue: !GetAtt ShippingQueue.Arn, BatchSize: 5 } }
        Tick: { Type: Schedule, Properties: { Schedule: rate(1 minute) } }
  Table:
    Type: AWS::DynamoDB::Table
"#,
        )
        .expect("valid template");
        assert_eq!(
            template.functions,
            [Function {
                logical_id: "OrdersCancel".into(),
                binary: "orders-cancel".into(),
                events: vec![
                    Event::Http {
                        method: "POST".into(),
                        path: "/orders/{id}/cancel".into()
                    },
                    Event::Queue {
                        queue: "ShippingQueue".into(),
                        batch_size: 5
                    },
                    Event::Schedule {
                        expression: "rate(1 minute)".into()
                    },
                ],
            }]
        );
    }

    #[test]
    fn refuses_functions_without_a_binary() {
        let err = Template::parse("Resources:\n  F:\n    Type: AWS::Serverless::Function\n")
            .expect_err("no binary");
        assert!(err.to_string().contains("Binary"), "{err}");
    }
}
