//! Strict parsing of request bodies into domain types.
//!
//! A body is parsed field by field, so that one answer names every bad field
//! (`400 VALIDATION_FAILED` with an `errors` list) rather than only the first
//! one serde would stop at. Each field is read as a JSON primitive and handed
//! to its type's fallible `parse`; a value that comes out is valid.
//!
//! ```ignore
//! impl FromJson for Registration {
//!     fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
//!         let mut o = Object::new(value, at, errors)?;
//!         let email = o.required("email", Email::parse);
//!         let name = o.required("name", DisplayName::parse);
//!         o.end();
//!         Some(Self { email: email?, name: name? })
//!     }
//! }
//! ```

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::foundation::error::{Error, FieldError};

pub type Errors = Vec<FieldError>;

/// A type that can be read from a JSON value at path `at`, reporting each
/// problem into `errors`. Returns `None` only after reporting at least one.
pub trait FromJson: Sized {
    fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self>;
}

/// Parses a whole document, turning collected field errors into one
/// [`Error::Validation`].
pub fn parse_document<T: FromJson>(value: Value) -> Result<T, Error> {
    let mut errors = Errors::new();
    match T::from_json(value, "", &mut errors) {
        Some(parsed) if errors.is_empty() => Ok(parsed),
        _ if errors.is_empty() => Err(Error::invalid("body", "is not valid")),
        _ => Err(Error::Validation(errors)),
    }
}

/// A field that PATCH may leave alone, clear with `null`, or set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Update<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

/// Reports `message` on the field `key` under `at`: for a rule across
/// fields, checked after the fields themselves.
pub fn report(errors: &mut Errors, at: &str, key: &str, message: impl Into<String>) {
    push(errors, &join(at, key), message);
}

fn push(errors: &mut Errors, field: &str, message: impl Into<String>) {
    errors.push(FieldError {
        field: if field.is_empty() {
            "body".into()
        } else {
            field.into()
        },
        message: message.into(),
    });
}

/// Reads a JSON primitive as `R`, then parses it into `T`.
fn scalar<R: DeserializeOwned, T>(
    value: Value,
    field: &str,
    errors: &mut Errors,
    parse: impl FnOnce(R) -> Result<T, String>,
) -> Option<T> {
    let raw: R = match serde_json::from_value(integral_numbers(value)) {
        Ok(raw) => raw,
        Err(err) => {
            push(errors, field, type_message(&err));
            return None;
        }
    };
    parse(raw).map_err(|msg| push(errors, field, msg)).ok()
}

/// JSON numbers with an integral value made integers: JSON (and JSON
/// Schema's `integer`) does not tell `5.0` from `5`, and some encoders
/// write one for the other. A fraction, or a value outside `i64`, stays a
/// float (and fails an integer field).
pub fn integral_numbers(value: Value) -> Value {
    const BOUND: f64 = 9_223_372_036_854_775_808.0; // 2^63, exact as f64
    match value {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            // Every integral f64 in [-2^63, 2^63) is an exact i64.
            Some(f) if f.fract() == 0.0 && (-BOUND..BOUND).contains(&f) => Value::from(f as i64),
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(integral_numbers).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, integral_numbers(v))).collect()),
        other => other,
    }
}

/// serde_json's "invalid type: integer `5`, expected a string", without
/// echoing the submitted value back (it may be a password).
fn type_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rsplit_once("expected ") {
        Some((_, expected)) => format!("expected {}", expected.trim_end_matches('.')),
        None => "has the wrong type".to_owned(),
    }
}

/// The fields of one JSON object. Every key must be taken by a call of
/// [`Object::required`] and friends; [`Object::end`] reports the rest as
/// unknown fields.
pub struct Object<'e> {
    at: String,
    map: Map<String, Value>,
    errors: &'e mut Errors,
}

impl<'e> Object<'e> {
    pub fn new(value: Value, at: &str, errors: &'e mut Errors) -> Option<Self> {
        match value {
            Value::Object(map) => Some(Self {
                at: at.to_owned(),
                map,
                errors,
            }),
            _ => {
                push(errors, at, "expected an object");
                None
            }
        }
    }

    /// A field that must be present and not null.
    pub fn required<R: DeserializeOwned, T>(
        &mut self,
        key: &str,
        parse: impl FnOnce(R) -> Result<T, String>,
    ) -> Option<T> {
        let field = join(&self.at, key);
        match self.map.remove(key) {
            None | Some(Value::Null) => {
                push(self.errors, &field, "is required");
                None
            }
            Some(value) => scalar(value, &field, self.errors, parse),
        }
    }

    /// A field that may be absent or null (`Some(None)`); `None` on error.
    pub fn optional<R: DeserializeOwned, T>(
        &mut self,
        key: &str,
        parse: impl FnOnce(R) -> Result<T, String>,
    ) -> Option<Option<T>> {
        let field = join(&self.at, key);
        match self.map.remove(key) {
            None | Some(Value::Null) => Some(None),
            Some(value) => scalar(value, &field, self.errors, parse).map(Some),
        }
    }

    /// A field a PATCH may leave out (keep), but not set to null.
    pub fn patch<R: DeserializeOwned, T>(
        &mut self,
        key: &str,
        parse: impl FnOnce(R) -> Result<T, String>,
    ) -> Option<Update<T>> {
        match self.nullable(key, parse)? {
            Update::Clear => {
                push(self.errors, &join(&self.at, key), "may not be null");
                None
            }
            update => Some(update),
        }
    }

    /// A field a PATCH may leave out (keep) or set to null (clear).
    pub fn nullable<R: DeserializeOwned, T>(
        &mut self,
        key: &str,
        parse: impl FnOnce(R) -> Result<T, String>,
    ) -> Option<Update<T>> {
        let field = join(&self.at, key);
        match self.map.remove(key) {
            None => Some(Update::Keep),
            Some(Value::Null) => Some(Update::Clear),
            Some(value) => scalar(value, &field, self.errors, parse).map(Update::Set),
        }
    }

    /// A nested object that must be present.
    pub fn required_nested<T: FromJson>(&mut self, key: &str) -> Option<T> {
        let field = join(&self.at, key);
        match self.map.remove(key) {
            None | Some(Value::Null) => {
                push(self.errors, &field, "is required");
                None
            }
            Some(value) => T::from_json(value, &field, self.errors),
        }
    }

    /// A nested object a PATCH may leave out, clear with null, or set.
    pub fn patch_nested<T: FromJson>(&mut self, key: &str) -> Option<Update<T>> {
        let field = join(&self.at, key);
        match self.map.remove(key) {
            None => Some(Update::Keep),
            Some(Value::Null) => Some(Update::Clear),
            Some(value) => T::from_json(value, &field, self.errors).map(Update::Set),
        }
    }

    /// A list of nested values, with `min..=max` entries.
    pub fn required_list<T: FromJson>(&mut self, key: &str, min: usize, max: usize) -> Option<Vec<T>> {
        let field = join(&self.at, key);
        let items = match self.map.remove(key) {
            None | Some(Value::Null) => {
                push(self.errors, &field, "is required");
                return None;
            }
            Some(Value::Array(items)) => items,
            Some(_) => {
                push(self.errors, &field, "expected an array");
                return None;
            }
        };
        if items.len() < min || items.len() > max {
            push(self.errors, &field, format!("must hold {min} to {max} entries"));
            return None;
        }
        let parsed: Vec<Option<T>> = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| T::from_json(item, &format!("{field}[{i}]"), self.errors))
            .collect();
        parsed.into_iter().collect()
    }

    /// Reports every key nobody asked for as an unknown field.
    pub fn end(self) {
        let mut unknown: Vec<_> = self.map.into_iter().map(|(key, _)| key).collect();
        unknown.sort();
        for key in unknown {
            push(self.errors, &join(&self.at, &key), "is not a known field");
        }
    }
}

/// Whether `c` may appear in text the shop stores: anything but the
/// control characters (Unicode `Cc`), tab, line feed and carriage return
/// excepted. openapi.yaml states it as a pattern.
fn allowed(c: char) -> bool {
    !c.is_control() || matches!(c, '\t' | '\n' | '\r')
}

/// Text kept exactly as given: at most `max` characters (Unicode scalar
/// values, as JSON Schema's `maxLength` counts them), no control
/// characters but tab, line feed and carriage return.
pub fn plain_text(text: String, max: usize) -> Result<String, String> {
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if !text.chars().all(allowed) {
        return Err("must not contain control characters".into());
    }
    Ok(text)
}

/// An id another system made (a provider's event or intent, a carrier's
/// event or tracking number): 1 to `max` ASCII letters, digits, `_` or
/// `-`. Such ids become parts of keys, which DynamoDB bounds and `#`
/// separates, so nothing longer or stranger reaches the store.
pub fn outside_id(id: String, max: usize) -> Result<String, String> {
    let valid = (1..=max).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(id)
    } else {
        Err(format!("must be 1 to {max} ASCII letters, digits, _ or -"))
    }
}

/// A code made of 1 to `max` of `a-z`, `0-9` and `-` (a category, a
/// market): safe in a key and a URL as it is.
pub fn slug(raw: String, max: usize) -> Result<String, String> {
    let valid = (1..=max).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(raw)
    } else {
        Err(format!("must be 1 to {max} characters of a-z, 0-9 and -"))
    }
}

/// A plain decimal string as the contract writes rates: a whole part of
/// at most `whole` digits without leading zeros, then optionally a point
/// and 1 to `fraction` digits; no sign, exponent or spaces. `None` for
/// anything else.
pub fn plain_decimal(text: &str, whole: usize, fraction: usize) -> Option<rust_decimal::Decimal> {
    let (int, frac) = match text.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let int_ok = digits(int) && int.len() <= whole && (int == "0" || !int.starts_with('0'));
    let frac_ok = frac.is_none_or(|f| digits(f) && f.len() <= fraction);
    (int_ok && frac_ok).then(|| text.parse().ok()).flatten()
}

/// [`plain_text`], then trimmed of surrounding whitespace, which must leave
/// `min` characters (the shop's fields ask for 0 or 1: not blank). `max`
/// applies to the text as sent, so that openapi.yaml's `maxLength` and
/// pattern say exactly what passes.
pub fn bounded_text(text: String, min: usize, max: usize) -> Result<String, String> {
    let text = plain_text(text, max)?;
    let trimmed = text.trim();
    match min {
        _ if trimmed.chars().count() >= min => {}
        1 => return Err("must not be blank".into()),
        _ => {
            return Err(format!(
                "must be {min} to {max} characters, without the whitespace around"
            ));
        }
    }
    Ok(if trimmed.len() == text.len() {
        text
    } else {
        trimmed.to_owned()
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, PartialEq)]
    struct Inner {
        code: String,
    }

    impl FromJson for Inner {
        fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
            let mut o = Object::new(value, at, errors)?;
            let code = o.required("code", |s: String| bounded_text(s, 2, 2));
            o.end();
            Some(Self { code: code? })
        }
    }

    #[derive(Debug, PartialEq)]
    struct Outer {
        count: u32,
        label: Option<String>,
        inner: Update<Inner>,
        list: Vec<Inner>,
    }

    impl FromJson for Outer {
        fn from_json(value: Value, at: &str, errors: &mut Errors) -> Option<Self> {
            let mut o = Object::new(value, at, errors)?;
            let count = o.required("count", |n: u32| {
                if n <= 10 {
                    Ok(n)
                } else {
                    Err("must be at most 10".into())
                }
            });
            let label = o.optional("label", |s: String| bounded_text(s, 1, 5));
            let inner = o.patch_nested("inner");
            let list = o.required_list("list", 1, 2);
            o.end();
            Some(Self {
                count: count?,
                label: label?,
                inner: inner?,
                list: list?,
            })
        }
    }

    fn fields(err: Error) -> Vec<String> {
        match err {
            Error::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_valid_document() {
        let parsed: Outer = parse_document(json!({
            "count": 3, "label": " ab ", "inner": {"code": "xy"}, "list": [{"code": "zz"}]
        }))
        .expect("valid");
        assert_eq!(
            parsed,
            Outer {
                count: 3,
                label: Some("ab".into()),
                inner: Update::Set(Inner { code: "xy".into() }),
                list: vec![Inner { code: "zz".into() }],
            }
        );
    }

    #[test]
    fn names_every_bad_field_with_its_path() {
        let err = parse_document::<Outer>(json!({
            "count": "three",
            "label": "far too long",
            "inner": {"code": "x", "extra": 1},
            "list": [{"code": "ok"}, {"code": 5}],
            "surprise": true
        }))
        .expect_err("invalid");
        assert_eq!(
            fields(err),
            [
                "count",
                "label",
                "inner.code",
                "inner.extra",
                "list[1].code",
                "surprise"
            ]
        );
    }

    #[test]
    fn distinguishes_absent_null_and_set_in_patches() {
        let keep: Outer = parse_document(json!({"count": 1, "list": [{"code": "aa"}]})).expect("valid");
        assert_eq!(keep.inner, Update::Keep);
        let clear: Outer =
            parse_document(json!({"count": 1, "inner": null, "list": [{"code": "aa"}]})).expect("valid");
        assert_eq!(clear.inner, Update::Clear);
    }

    #[test]
    fn rejects_missing_fields_non_objects_and_list_bounds() {
        assert_eq!(
            fields(parse_document::<Outer>(json!({})).expect_err("x")),
            ["count", "list"]
        );
        assert_eq!(
            fields(parse_document::<Outer>(json!([1])).expect_err("x")),
            ["body"]
        );
        let err = parse_document::<Outer>(json!({"count": 1, "list": []})).expect_err("x");
        assert_eq!(fields(err), ["list"]);
    }

    #[test]
    fn type_errors_do_not_echo_the_value() {
        let err = parse_document::<Outer>(json!({"count": "secret-value", "list": [{"code": "aa"}]}))
            .expect_err("x");
        let Error::Validation(errors) = err else {
            panic!("validation")
        };
        assert!(!errors[0].message.contains("secret-value"), "{:?}", errors[0]);
    }

    #[test]
    fn bounded_text_trims_and_counts_characters() {
        assert_eq!(bounded_text("  é ".into(), 1, 4), Ok("é".into()));
        assert!(bounded_text("   ".into(), 1, 5).is_err());
        assert!(bounded_text("a\u{0}b".into(), 1, 5).is_err());
        // Bounds and characters apply to the text as sent.
        assert!(bounded_text(" é ".into(), 1, 2).is_err(), "3 characters sent");
        assert!(
            bounded_text("ab\u{b}".into(), 1, 5).is_err(),
            "a vertical tab, even at the end"
        );
        assert_eq!(bounded_text("\ta\r\n".into(), 1, 5), Ok("a".into()));
        assert_eq!(plain_text(" a\n".into(), 3), Ok(" a\n".into()), "kept as given");
    }

    #[test]
    fn integral_numbers_are_integers() {
        let value = integral_numbers(json!({"a": 5.0, "b": [2.5, 1e300], "c": -0.0, "d": 7, "e": 9.2e18}));
        assert_eq!(
            value,
            json!({"a": 5, "b": [2.5, 1e300], "c": 0, "d": 7, "e": 9_200_000_000_000_000_000_i64})
        );
        let mut errors = Errors::new();
        assert_eq!(
            scalar(
                json!(99_999_999.0),
                "price",
                &mut errors,
                |n: i64| Ok::<_, String>(n)
            ),
            Some(99_999_999)
        );
        assert_eq!(
            scalar(json!(1.5), "price", &mut errors, |n: i64| Ok::<_, String>(n)),
            None
        );
        assert_eq!(errors.len(), 1);
    }
}
