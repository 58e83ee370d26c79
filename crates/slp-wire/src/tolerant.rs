//! Reading members the way Cisco's API gateway reads them, written once for every type of the
//! contract: `null` where a member is optional, numbers sent as strings.
//!
//! Use with `#[serde(default, deserialize_with = "…")]`.

use serde::{Deserialize, Deserializer, de};

/// `null` reads as the type's default (an empty list, `None`, `false`, …), like a missing member.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A number or a decimal string (`1`, `"1"`, `" 1 "`).
#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Unsigned(u64),
    Signed(i64),
    Text(String),
}

fn u64_of<E: de::Error>(value: NumberOrText) -> Result<u64, E> {
    match value {
        NumberOrText::Unsigned(n) => Ok(n),
        NumberOrText::Signed(n) => Err(E::custom(format!("{n} is negative; a count is 0 or more"))),
        NumberOrText::Text(text) => text.trim().parse::<u64>().map_err(|_| {
            E::custom(format!("{text:?} is not a whole number (a count is sent as 1 or \"1\")"))
        }),
    }
}

fn i64_of<E: de::Error>(value: NumberOrText) -> Result<i64, E> {
    match value {
        NumberOrText::Unsigned(n) => {
            i64::try_from(n).map_err(|_| E::custom(format!("{n} is larger than {}", i64::MAX)))
        }
        NumberOrText::Signed(n) => Ok(n),
        NumberOrText::Text(text) => text
            .trim()
            .parse::<i64>()
            .map_err(|_| E::custom(format!("{text:?} is not a whole number"))),
    }
}

/// A member that is `T` when it is a JSON object, and `None` otherwise: missing, `null`, or a
/// string or number some clients put there (a public tool fills `authrequest`'s
/// `trust_request` with the hostname).
pub fn object_or_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    match Option::<serde_json::Value>::deserialize(deserializer)? {
        Some(value @ serde_json::Value::Object(_)) => {
            serde_json::from_value(value).map(Some).map_err(de::Error::custom)
        }
        _ => Ok(None),
    }
}

/// A count sent as a number or as a string (`"count": "1"`).
pub fn u64_or_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    u64_of(NumberOrText::deserialize(deserializer)?)
}

/// An optional count: missing, `null`, a number or a string.
pub fn opt_u64_or_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    Option::<NumberOrText>::deserialize(deserializer)?.map(u64_of).transpose()
}

/// A signed whole number sent as a number or as a string (epoch milliseconds, ids).
pub fn i64_or_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    i64_of(NumberOrText::deserialize(deserializer)?)
}

/// An optional signed whole number: missing, `null`, a number or a string.
pub fn opt_i64_or_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    Option::<NumberOrText>::deserialize(deserializer)?.map(i64_of).transpose()
}

/// A flag sent as `true`/`false` or as the strings `"true"`/`"false"` (Cisco's `isDefault`).
pub fn bool_or_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum BoolOrText {
        Bool(bool),
        Text(String),
    }
    match Option::<BoolOrText>::deserialize(deserializer)? {
        None => Ok(false),
        Some(BoolOrText::Bool(b)) => Ok(b),
        Some(BoolOrText::Text(text)) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(true),
            "false" | "no" | "0" | "" => Ok(false),
            _ => Err(de::Error::custom(format!("{text:?} is not true or false"))),
        },
    }
}

/// An optional flag: missing, `null`, `true`/`false` or their strings (`is_consuming`, `is_ha`).
pub fn opt_bool_or_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum BoolOrText {
        Bool(bool),
        Text(String),
    }
    match Option::<BoolOrText>::deserialize(deserializer)? {
        None => Ok(None),
        Some(BoolOrText::Bool(b)) => Ok(Some(b)),
        Some(BoolOrText::Text(text)) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(Some(true)),
            "false" | "no" | "0" => Ok(Some(false)),
            "" => Ok(None),
            _ => Err(de::Error::custom(format!("{text:?} is not true or false"))),
        },
    }
}

/// An optional identifier sent as a string or a number (`transaction_id`,
/// `product_instance_identifier`): missing, `null`, `"abc"` or `12`, kept as text.
pub fn opt_text_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum TextOrNumber {
        Text(String),
        Unsigned(u64),
        Signed(i64),
    }
    Ok(Option::<TextOrNumber>::deserialize(deserializer)?.map(|value| match value {
        TextOrNumber::Text(text) => text,
        TextOrNumber::Unsigned(n) => n.to_string(),
        TextOrNumber::Signed(n) => n.to_string(),
    }))
}

/// JSON Schemas of the tolerant readers above, for `#[schemars(with = "…")]`: what a request
/// may send (deserialize contract: the number or its string, `null`) and what a reply sends
/// (serialize contract: the plain type), so `/openapi.json` documents both exactly.
pub mod schema {
    use std::borrow::Cow;
    use std::marker::PhantomData;

    use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

    fn reading(generator: &SchemaGenerator) -> bool {
        generator.contract().is_deserialize()
    }

    /// A schema type whose request form (`read`) and reply form (`write`) differ.
    macro_rules! read_write {
        ($($(#[$doc:meta])* $name:ident: read $read:tt, write $write:tt;)*) => {$(
            $(#[$doc])*
            pub struct $name;
            impl JsonSchema for $name {
                fn inline_schema() -> bool {
                    true
                }
                fn schema_name() -> Cow<'static, str> {
                    stringify!($name).into()
                }
                fn json_schema(generator: &mut SchemaGenerator) -> Schema {
                    if reading(generator) { json_schema!($read) } else { json_schema!($write) }
                }
            }
        )*};
    }

    read_write! {
        /// A count: `1` or `"1"` (read), `1` (written).
        CountOrText: read {"anyOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": "^\\s*\\+?[0-9]{1,19}\\s*$"},
        ]}, write {"type": "integer", "minimum": 0};
        /// A signed whole number: `-1` or `"-1"` (read), `-1` (written).
        IntOrText: read {"anyOf": [
            {"type": "integer"},
            {"type": "string", "pattern": "^\\s*[-+]?[0-9]{1,18}\\s*$"},
        ]}, write {"type": "integer"};
        /// A flag: `true` or `"true"`, `"yes"`, `"1"`, … (read), `true` (written).
        BoolOrText: read {"anyOf": [
            {"type": "boolean"},
            {"type": "string", "pattern": "^\\s*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[Yy][Ee][Ss]|[Nn][Oo]|[01])?\\s*$"},
        ]}, write {"type": "boolean"};
        /// An identifier: `"abc"` or `12` (read), `"abc"` (written).
        TextOrNumber: read {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            write {"type": "string"};
        /// A list of strings: also one string, or `null` (read); the list (written).
        StringOrList: read {"anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}},
            {"type": "null"},
        ]}, write {"type": "array", "items": {"type": "string"}};
    }

    /// Cisco's `isDefault`: a flag or its string (read), `"true"` or `"false"` (written).
    pub struct FlagText;
    impl JsonSchema for FlagText {
        fn inline_schema() -> bool {
            true
        }
        fn schema_name() -> Cow<'static, str> {
            "FlagText".into()
        }
        fn json_schema(generator: &mut SchemaGenerator) -> Schema {
            if reading(generator) {
                <super::schema::NullOr<BoolOrText>>::json_schema(generator)
            } else {
                json_schema!({"type": "string", "enum": ["true", "false"]})
            }
        }
    }

    /// `T`, or `null` where it is read ([`super::null_as_default`]).
    pub struct NullOr<T>(PhantomData<T>);
    impl<T: JsonSchema> JsonSchema for NullOr<T> {
        fn inline_schema() -> bool {
            true
        }
        fn schema_name() -> Cow<'static, str> {
            format!("NullOr_{}", T::schema_name()).into()
        }
        fn json_schema(generator: &mut SchemaGenerator) -> Schema {
            if reading(generator) {
                <Option<T>>::json_schema(generator)
            } else {
                generator.subschema_for::<T>()
            }
        }
    }

    /// Any JSON value where it is read (an object of `T` is used, anything else reads as
    /// none: [`super::object_or_none`]); `T` where it is written.
    pub struct AnyOr<T>(PhantomData<T>);
    impl<T: JsonSchema> JsonSchema for AnyOr<T> {
        fn inline_schema() -> bool {
            true
        }
        fn schema_name() -> Cow<'static, str> {
            format!("AnyOr_{}", T::schema_name()).into()
        }
        fn json_schema(generator: &mut SchemaGenerator) -> Schema {
            if reading(generator) {
                json_schema!({"anyOf": [
                    generator.subschema_for::<T>(),
                    {"type": ["string", "number", "integer", "boolean", "array", "null"]},
                ]})
            } else {
                generator.subschema_for::<T>()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Sample {
        #[serde(default, deserialize_with = "null_as_default")]
        list: Vec<String>,
        #[serde(deserialize_with = "u64_or_text")]
        count: u64,
        #[serde(default, deserialize_with = "opt_i64_or_text")]
        timestamp: Option<i64>,
        #[serde(default, deserialize_with = "bool_or_text")]
        flag: bool,
    }

    fn read(text: &str) -> Result<Sample, serde_json::Error> {
        serde_json::from_str(text)
    }

    #[test]
    fn null_and_strings_read_as_cisco_sends_them() {
        let sample = read(r#"{"list": null, "count": "3", "timestamp": null, "flag": "true"}"#);
        assert_eq!(
            sample.ok(),
            Some(Sample { list: vec![], count: 3, timestamp: None, flag: true })
        );
        let sample = read(r#"{"count": 3, "timestamp": "1700000000000"}"#);
        assert_eq!(
            sample.ok(),
            Some(Sample {
                list: vec![],
                count: 3,
                timestamp: Some(1_700_000_000_000),
                flag: false
            })
        );
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Extras {
        #[serde(default, deserialize_with = "opt_bool_or_text")]
        is_ha: Option<bool>,
        #[serde(default, deserialize_with = "opt_text_or_number")]
        transaction_id: Option<String>,
    }

    #[test]
    fn optional_flags_and_ids_read_null_text_and_numbers() {
        let read = |text: &str| serde_json::from_str::<Extras>(text).ok();
        let none = Extras { is_ha: None, transaction_id: None };
        assert_eq!(read(r#"{"is_ha": null, "transaction_id": null}"#), Some(none));
        assert_eq!(
            read(r#"{"is_ha": "false", "transaction_id": 773126444402795033}"#),
            Some(Extras { is_ha: Some(false), transaction_id: Some("773126444402795033".into()) })
        );
        assert_eq!(
            read(r#"{"is_ha": true, "transaction_id": "t-1"}"#),
            Some(Extras { is_ha: Some(true), transaction_id: Some("t-1".into()) })
        );
        assert_eq!(read(r#"{"is_ha": "maybe"}"#), None);
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        data: String,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct WithObject {
        #[serde(default, deserialize_with = "object_or_none")]
        item: Option<Inner>,
    }

    #[test]
    fn an_object_member_sent_as_text_or_null_reads_as_none() {
        let read = |text: &str| serde_json::from_str::<WithObject>(text).ok();
        let some = Some(WithObject { item: Some(Inner { data: "x".to_owned() }) });
        assert_eq!(read(r#"{"item": {"data": "x"}}"#), some);
        for none in [r#"{"item": "sw1"}"#, r#"{"item": null}"#, r#"{}"#, r#"{"item": 3}"#] {
            assert_eq!(read(none), Some(WithObject { item: None }), "{none}");
        }
        // An object of the wrong shape is still an error.
        assert_eq!(read(r#"{"item": {"other": 1}}"#), None);
    }

    #[test]
    fn a_count_that_is_not_a_number_is_named() {
        let err = read(r#"{"count": "three"}"#).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("\"three\" is not a whole number"), "{err}");
        let err = read(r#"{"count": -1}"#).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("-1 is negative"), "{err}");
    }
}
