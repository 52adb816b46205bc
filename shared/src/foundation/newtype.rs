//! The conversions every validated newtype needs, written once.
//!
//! A newtype declares its own fallible `parse`; these macros derive the
//! serde conversions from it, so that a value read back from the table is
//! checked by the same rules as one read from a request.

/// An id type: parsed from its text form (a path parameter, a message).
pub trait Id: Sized {
    fn parse(raw: &str) -> Result<Self, String>;
}

/// For an id wrapping a UUID v7 (time-ordered): `new`, `parse`, `Display`,
/// and serde as a string.
macro_rules! uuid_id {
    ($name:ident, $what:literal) => {
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
        )]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(uuid::Uuid);

        impl $name {
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            pub fn from_uuid(id: uuid::Uuid) -> Self {
                Self(id)
            }

            pub fn uuid(&self) -> uuid::Uuid {
                self.0
            }

            /// The hyphenated form only (`8-4-4-4-12` hex digits, any
            /// case), as openapi.yaml's pattern says: not the braced, URN
            /// or bare forms the uuid crate also reads.
            pub fn parse(s: &str) -> Result<Self, String> {
                // Of the forms try_parse reads, only the hyphenated one is 36 long.
                (s.len() == 36)
                    .then(|| uuid::Uuid::try_parse(s).ok())
                    .flatten()
                    .map(Self)
                    .ok_or_else(|| concat!("is not ", $what).to_owned())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl crate::foundation::newtype::Id for $name {
            fn parse(raw: &str) -> Result<Self, String> {
                Self::parse(raw)
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.to_string()
            }
        }
    };
}

/// For a newtype over `String` with `fn parse(String) -> Result<Self, String>`:
/// serde through `parse`, and `as_str`.
macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

pub(crate) use {string_newtype, uuid_id};
