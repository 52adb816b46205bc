//! DynamoDB expressions built from parts: the store says which attributes
//! it sets, adds, removes and tests, and this module writes the expression
//! text and allocates every `#name` and `:value` placeholder itself, so a
//! placeholder cannot disagree with its binding (DynamoDB would answer a
//! `ValidationException`, at run time). Every attribute goes through a name
//! placeholder, so no attribute name can meet a reserved word.
//!
//! In the spirit of the Go SDK's `feature/dynamodb/expression` package; the
//! Rust SDK has none. Only what the store uses: `SET` (a value,
//! `if_not_exists`, minus, `list_append`), `ADD`, `REMOVE`; conditions
//! `attribute_exists`, `attribute_not_exists`, comparisons (of an attribute
//! or its `size`), `begins_with`, `AND`, `OR`; key conditions; projections.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::delete_item::builders::DeleteItemFluentBuilder;
use aws_sdk_dynamodb::operation::get_item::builders::GetItemFluentBuilder;
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::builders::{ConditionCheckBuilder, DeleteBuilder, PutBuilder, UpdateBuilder};

/// An attribute, by name or by a dotted path into a map (`dispute.status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Attr(Vec<String>);

/// The attribute `path` (dots separate a map's keys).
pub(super) fn attr(path: &str) -> Attr {
    Attr(path.split('.').map(str::to_owned).collect())
}

/// What a comparison's left side is: an attribute or its size.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Operand {
    Attr(Attr),
    Size(Attr),
}

/// The `size()` of an attribute, to compare.
#[derive(Debug, Clone)]
pub(super) struct Size(Attr);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn text(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "<>",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }
}

/// A condition (of a write, or a query's key condition).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Condition {
    Exists(Attr),
    NotExists(Attr),
    Compare(Operand, Cmp, AttributeValue),
    BeginsWith(Attr, AttributeValue),
    /// Both bounds included (a key condition's only two-sided range).
    Between(Attr, AttributeValue, AttributeValue),
    And(Vec<Condition>),
    Or(Vec<Condition>),
}

impl Attr {
    pub fn exists(self) -> Condition {
        Condition::Exists(self)
    }
    pub fn not_exists(self) -> Condition {
        Condition::NotExists(self)
    }
    pub fn eq(self, value: AttributeValue) -> Condition {
        Condition::Compare(Operand::Attr(self), Cmp::Eq, value)
    }
    pub fn ne(self, value: AttributeValue) -> Condition {
        Condition::Compare(Operand::Attr(self), Cmp::Ne, value)
    }
    pub fn lt(self, value: AttributeValue) -> Condition {
        Condition::Compare(Operand::Attr(self), Cmp::Lt, value)
    }
    pub fn le(self, value: AttributeValue) -> Condition {
        Condition::Compare(Operand::Attr(self), Cmp::Le, value)
    }
    pub fn gt(self, value: AttributeValue) -> Condition {
        Condition::Compare(Operand::Attr(self), Cmp::Gt, value)
    }
    pub fn ge(self, value: AttributeValue) -> Condition {
        Condition::Compare(Operand::Attr(self), Cmp::Ge, value)
    }
    pub fn begins_with(self, prefix: AttributeValue) -> Condition {
        Condition::BeginsWith(self, prefix)
    }
    pub fn between(self, low: AttributeValue, high: AttributeValue) -> Condition {
        Condition::Between(self, low, high)
    }
    pub fn size(self) -> Size {
        Size(self)
    }
}

impl Size {
    pub fn lt(self, value: AttributeValue) -> Condition {
        Condition::Compare(Operand::Size(self.0), Cmp::Lt, value)
    }
}

impl Condition {
    /// Both hold.
    pub fn and(self, other: Condition) -> Condition {
        match self {
            Self::And(mut all) => {
                all.push(other);
                Self::And(all)
            }
            first => Self::And(vec![first, other]),
        }
    }

    /// Either holds.
    pub fn or(self, other: Condition) -> Condition {
        match self {
            Self::Or(mut any) => {
                any.push(other);
                Self::Or(any)
            }
            first => Self::Or(vec![first, other]),
        }
    }
}

/// What `SET` gives an attribute.
#[derive(Debug, Clone, PartialEq)]
enum SetTo {
    Value(AttributeValue),
    /// Its value if it has one, else this.
    IfAbsent(AttributeValue),
    /// Itself minus this.
    Minus(AttributeValue),
    /// Its list with this list appended.
    Append(AttributeValue),
}

/// An update: what it sets, adds and removes, and the condition it is
/// written under.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Changes {
    set: Vec<(Attr, SetTo)>,
    add: Vec<(Attr, AttributeValue)>,
    remove: Vec<Attr>,
    condition: Option<Condition>,
}

impl Changes {
    pub fn new() -> Self {
        Self::default()
    }

    /// `SET name = value`.
    pub fn set(mut self, name: &str, value: AttributeValue) -> Self {
        self.set.push((attr(name), SetTo::Value(value)));
        self
    }

    /// `SET name = if_not_exists(name, value)`.
    pub fn set_if_absent(mut self, name: &str, value: AttributeValue) -> Self {
        self.set.push((attr(name), SetTo::IfAbsent(value)));
        self
    }

    /// `SET name = name - value`.
    pub fn subtract(mut self, name: &str, value: AttributeValue) -> Self {
        self.set.push((attr(name), SetTo::Minus(value)));
        self
    }

    /// `SET name = list_append(name, value)`.
    pub fn append(mut self, name: &str, list: AttributeValue) -> Self {
        self.set.push((attr(name), SetTo::Append(list)));
        self
    }

    /// `ADD name value`.
    pub fn add(mut self, name: &str, value: AttributeValue) -> Self {
        self.add.push((attr(name), value));
        self
    }

    /// `REMOVE name`.
    pub fn remove(mut self, name: &str) -> Self {
        self.remove.push(attr(name));
        self
    }

    /// Written only if `condition` holds (and any condition given before).
    pub fn when(mut self, condition: Condition) -> Self {
        self.condition = Some(match self.condition.take() {
            Some(before) => before.and(condition),
            None => condition,
        });
        self
    }
}

/// Expressions as text, with the placeholders they use bound.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Expression {
    update: Option<String>,
    condition: Option<String>,
    key_condition: Option<String>,
    projection: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

/// Writes expression text, allocating placeholders: one `#nN` per distinct
/// attribute name, one `:vN` per value.
#[derive(Default)]
struct Writer {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Writer {
    fn name(&mut self, attr: &Attr) -> String {
        attr.0
            .iter()
            .map(|part| {
                let next = self.names.len();
                self.names
                    .entry(part.clone())
                    .or_insert_with(|| format!("#n{next}"))
                    .clone()
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    fn value(&mut self, value: &AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value.clone());
        placeholder
    }

    fn condition(&mut self, condition: &Condition) -> String {
        match condition {
            Condition::Exists(a) => format!("attribute_exists({})", self.name(a)),
            Condition::NotExists(a) => format!("attribute_not_exists({})", self.name(a)),
            Condition::Compare(operand, cmp, value) => {
                let left = match operand {
                    Operand::Attr(a) => self.name(a),
                    Operand::Size(a) => format!("size({})", self.name(a)),
                };
                format!("{left} {} {}", cmp.text(), self.value(value))
            }
            Condition::BeginsWith(a, prefix) => {
                let name = self.name(a);
                format!("begins_with({name}, {})", self.value(prefix))
            }
            Condition::Between(a, low, high) => {
                let name = self.name(a);
                let low = self.value(low);
                format!("{name} BETWEEN {low} AND {}", self.value(high))
            }
            Condition::And(all) => self.joined(all, " AND ", |c| matches!(c, Condition::Or(_))),
            Condition::Or(any) => self.joined(any, " OR ", |c| matches!(c, Condition::And(_))),
        }
    }

    /// Conditions joined by `op`, those of the other kind in parentheses.
    fn joined(&mut self, parts: &[Condition], op: &str, nested: fn(&Condition) -> bool) -> String {
        parts
            .iter()
            .map(|part| {
                let text = self.condition(part);
                if nested(part) { format!("({text})") } else { text }
            })
            .collect::<Vec<_>>()
            .join(op)
    }

    fn update(&mut self, changes: &Changes) -> String {
        let mut clauses = Vec::new();
        if !changes.set.is_empty() {
            let set: Vec<String> = changes
                .set
                .iter()
                .map(|(a, to)| {
                    let name = self.name(a);
                    let value = match to {
                        SetTo::Value(v) => self.value(v),
                        SetTo::IfAbsent(v) => format!("if_not_exists({name}, {})", self.value(v)),
                        SetTo::Minus(v) => format!("{name} - {}", self.value(v)),
                        SetTo::Append(v) => format!("list_append({name}, {})", self.value(v)),
                    };
                    format!("{name} = {value}")
                })
                .collect();
            clauses.push(format!("SET {}", set.join(", ")));
        }
        if !changes.add.is_empty() {
            let add: Vec<String> = changes
                .add
                .iter()
                .map(|(a, v)| format!("{} {}", self.name(a), self.value(v)))
                .collect();
            clauses.push(format!("ADD {}", add.join(", ")));
        }
        if !changes.remove.is_empty() {
            let remove: Vec<String> = changes.remove.iter().map(|a| self.name(a)).collect();
            clauses.push(format!("REMOVE {}", remove.join(", ")));
        }
        clauses.join(" ")
    }

    fn finish(self, expression: Expression) -> Expression {
        Expression {
            names: self.names.into_iter().map(|(name, p)| (p, name)).collect(),
            values: self.values,
            ..expression
        }
    }
}

impl Expression {
    /// An update expression and its condition, if any.
    pub fn update(changes: &Changes) -> Self {
        let mut writer = Writer::default();
        let update = Some(writer.update(changes));
        let condition = changes.condition.as_ref().map(|c| writer.condition(c));
        writer.finish(Self {
            update,
            condition,
            ..Self::default()
        })
    }

    /// A condition expression.
    pub fn condition(condition: &Condition) -> Self {
        let mut writer = Writer::default();
        let condition = Some(writer.condition(condition));
        writer.finish(Self {
            condition,
            ..Self::default()
        })
    }

    /// A query's key condition and a filter of what it reads (in
    /// `condition`).
    pub fn filtered_query(keys: &Condition, filter: &Condition) -> Self {
        let mut writer = Writer::default();
        let key_condition = Some(writer.condition(keys));
        let condition = Some(writer.condition(filter));
        writer.finish(Self {
            key_condition,
            condition,
            ..Self::default()
        })
    }

    /// A query's key condition.
    pub fn key_condition(condition: &Condition) -> Self {
        let mut writer = Writer::default();
        let key_condition = Some(writer.condition(condition));
        writer.finish(Self {
            key_condition,
            ..Self::default()
        })
    }

    /// A projection of these attributes.
    pub fn projection(attrs: &[&str]) -> Self {
        let mut writer = Writer::default();
        let names: Vec<String> = attrs.iter().map(|a| writer.name(&attr(a))).collect();
        writer.finish(Self {
            projection: Some(names.join(", ")),
            ..Self::default()
        })
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// A request that takes an update expression and a condition.
pub(super) trait Updates: Sized {
    /// Writes `changes` (under their condition).
    fn changes(self, changes: Changes) -> Self;
}

/// A request that takes a condition expression only.
pub(super) trait Conditional: Sized {
    /// Written only if `condition` holds.
    fn when(self, condition: Condition) -> Self;
}

macro_rules! updates {
    ($($builder:ty),*) => {$(
        impl Updates for $builder {
            fn changes(self, changes: Changes) -> Self {
                let e = Expression::update(&changes);
                self.set_update_expression(e.update.clone())
                    .set_condition_expression(e.condition.clone())
                    .set_expression_attribute_names(e.names())
                    .set_expression_attribute_values(e.values())
            }
        }
    )*};
}

macro_rules! conditional {
    ($($builder:ty),*) => {$(
        impl Conditional for $builder {
            fn when(self, condition: Condition) -> Self {
                let e = Expression::condition(&condition);
                self.set_condition_expression(e.condition.clone())
                    .set_expression_attribute_names(e.names())
                    .set_expression_attribute_values(e.values())
            }
        }
    )*};
}

updates!(UpdateBuilder, UpdateItemFluentBuilder);
conditional!(
    PutBuilder,
    PutItemFluentBuilder,
    DeleteBuilder,
    DeleteItemFluentBuilder,
    ConditionCheckBuilder
);

/// A query's key condition.
pub(super) trait Keyed: Sized {
    fn keys(self, condition: Condition) -> Self;
    /// The key condition, and a filter of the items read (`None`: none):
    /// a page's `Limit` counts what is read, not what passes.
    fn keys_where(self, condition: Condition, filter: Option<Condition>) -> Self;
}

impl Keyed for QueryFluentBuilder {
    fn keys(self, condition: Condition) -> Self {
        let e = Expression::key_condition(&condition);
        self.set_key_condition_expression(e.key_condition.clone())
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
    }

    fn keys_where(self, condition: Condition, filter: Option<Condition>) -> Self {
        let Some(filter) = filter else {
            return self.keys(condition);
        };
        let e = Expression::filtered_query(&condition, &filter);
        self.set_key_condition_expression(e.key_condition.clone())
            .set_filter_expression(e.condition.clone())
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
    }
}

/// A read of some attributes only.
pub(super) trait Projected: Sized {
    fn only(self, attrs: &[&str]) -> Self;
}

impl Projected for GetItemFluentBuilder {
    fn only(self, attrs: &[&str]) -> Self {
        let e = Expression::projection(attrs);
        self.set_projection_expression(e.projection.clone())
            .set_expression_attribute_names(e.names())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    fn n(v: i64) -> AttributeValue {
        AttributeValue::N(v.to_string())
    }

    /// Every placeholder the text uses is bound, and every binding is used.
    fn assert_bound(e: &Expression) {
        let texts = [&e.update, &e.condition, &e.key_condition, &e.projection];
        let mut used_names = BTreeSet::new();
        let mut used_values = BTreeSet::new();
        for text in texts.into_iter().flatten() {
            let mut chars = text.char_indices().peekable();
            while let Some((start, c)) = chars.next() {
                if c != '#' && c != ':' {
                    continue;
                }
                let mut end = start + 1;
                while let Some(&(i, next)) = chars.peek() {
                    if !next.is_ascii_alphanumeric() && next != '_' {
                        break;
                    }
                    end = i + next.len_utf8();
                    chars.next();
                }
                let token = text[start..end].to_owned();
                if c == '#' {
                    used_names.insert(token);
                } else {
                    used_values.insert(token);
                }
            }
        }
        let bound_names: BTreeSet<String> = e.names.keys().cloned().collect();
        let bound_values: BTreeSet<String> = e.values.keys().cloned().collect();
        assert_eq!(used_names, bound_names, "names in {e:?}");
        assert_eq!(used_values, bound_values, "values in {e:?}");
    }

    #[test]
    fn an_update_with_its_condition() {
        let e = Expression::update(
            &Changes::new()
                .set("status", s("PAID"))
                .set("updated_at", s("now"))
                .add("unpaid", n(-1))
                .remove("GSI2PK")
                .remove("GSI2SK")
                .when(attr("status").eq(s("PENDING_PAYMENT")))
                .when(attr("PK").exists()),
        );
        assert_eq!(
            e.update.as_deref(),
            Some("SET #n0 = :v0, #n1 = :v1 ADD #n2 :v2 REMOVE #n3, #n4")
        );
        assert_eq!(
            e.condition.as_deref(),
            Some("#n0 = :v3 AND attribute_exists(#n5)")
        );
        assert_eq!(e.names["#n0"], "status");
        assert_eq!(e.names["#n5"], "PK");
        assert_eq!(e.values[":v3"], s("PENDING_PAYMENT"));
        assert_bound(&e);
    }

    #[test]
    fn functions_paths_and_nesting() {
        let e = Expression::update(
            &Changes::new()
                .set_if_absent("window_start", n(1))
                .subtract("stock", n(2))
                .append("events", AttributeValue::L(vec![s("e")]))
                .when(
                    attr("status").eq(s("from")).and(
                        attr("dispute")
                            .not_exists()
                            .or(attr("dispute.status").eq(s("won"))),
                    ),
                )
                .when(attr("events").size().lt(n(100))),
        );
        assert_eq!(
            e.update.as_deref(),
            Some("SET #n0 = if_not_exists(#n0, :v0), #n1 = #n1 - :v1, #n2 = list_append(#n2, :v2)")
        );
        assert_eq!(
            e.condition.as_deref(),
            Some("#n3 = :v3 AND (attribute_not_exists(#n4) OR #n4.#n3 = :v4) AND size(#n2) < :v5")
        );
        assert_bound(&e);
    }

    #[test]
    fn key_conditions_and_projections() {
        let e = Expression::key_condition(
            &attr("GSI1PK")
                .eq(s("CATALOG"))
                .and(attr("GSI1SK").begins_with(s("ORDER#"))),
        );
        assert_eq!(
            e.key_condition.as_deref(),
            Some("#n0 = :v0 AND begins_with(#n1, :v1)")
        );
        assert_bound(&e);
        let e = Expression::key_condition(
            &attr("PK")
                .eq(s("SALES#07"))
                .and(attr("SK").between(s("2026-12-01"), s("2026-12-31#~"))),
        );
        assert_eq!(
            e.key_condition.as_deref(),
            Some("#n0 = :v0 AND #n1 BETWEEN :v1 AND :v2")
        );
        assert_bound(&e);
        let e = Expression::filtered_query(
            &attr("GSI3PK").eq(s("ORDERS#2026-12-05#03")),
            &attr("status").eq(s("PAID")).and(attr("market").eq(s("eu"))),
        );
        assert_eq!(e.key_condition.as_deref(), Some("#n0 = :v0"));
        assert_eq!(e.condition.as_deref(), Some("#n1 = :v1 AND #n2 = :v2"));
        assert_bound(&e);
        let e = Expression::projection(&["token_version"]);
        assert_eq!(e.projection.as_deref(), Some("#n0"));
        assert!(e.values().is_none());
        assert_bound(&e);
        let e = Expression::condition(&attr("PK").not_exists().or(attr("n").ne(n(1))));
        assert_eq!(
            e.condition.as_deref(),
            Some("attribute_not_exists(#n0) OR #n1 <> :v0")
        );
        assert_bound(&e);
    }

    /// Random updates and conditions: whatever the parts, the text uses
    /// exactly the placeholders bound.
    #[test]
    fn random_expressions_bind_every_placeholder_they_use() {
        let names = ["PK", "status", "stock", "a.b", "name", "ttl", "events"];
        let pick = |rng: &mut fastrand::Rng| names[rng.usize(..names.len())];
        fn condition(rng: &mut fastrand::Rng, names: &[&str], depth: u32) -> Condition {
            let name = names[rng.usize(..names.len())];
            match if depth > 2 { rng.u8(..5) } else { rng.u8(..7) } {
                0 => attr(name).exists(),
                1 => attr(name).not_exists(),
                2 => attr(name).ge(AttributeValue::N(rng.i64(..).to_string())),
                3 => attr(name).begins_with(AttributeValue::S("p".into())),
                4 => attr(name).size().lt(AttributeValue::N("3".into())),
                5 => condition(rng, names, depth + 1).and(condition(rng, names, depth + 1)),
                _ => condition(rng, names, depth + 1).or(condition(rng, names, depth + 1)),
            }
        }
        let mut rng = fastrand::Rng::with_seed(24);
        for _ in 0..2_000 {
            let mut changes = Changes::new();
            for _ in 0..rng.usize(1..6) {
                changes = match rng.u8(..6) {
                    0 => changes.set(pick(&mut rng), n(1)),
                    1 => changes.set_if_absent(pick(&mut rng), n(2)),
                    2 => changes.subtract(pick(&mut rng), n(3)),
                    3 => changes.append(pick(&mut rng), AttributeValue::L(vec![])),
                    4 => changes.add(pick(&mut rng), n(4)),
                    _ => changes.remove(pick(&mut rng)),
                };
            }
            if rng.bool() {
                changes = changes.when(condition(&mut rng, &names, 0));
            }
            assert_bound(&Expression::update(&changes));
            assert_bound(&Expression::condition(&condition(&mut rng, &names, 0)));
        }
    }
}
