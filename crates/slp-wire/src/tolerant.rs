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
/// (serialize contract: the plain type), so `/openapi.json` documents both exactly. The bounded
/// forms ([`schema::Count`], [`schema::Name`], [`schema::Text`]) state the bounds of
/// [`super::limits`] the handlers enforce.
///
/// Patterns spell out their character classes rather than use `\s`, which Python (what
/// schemathesis draws values with) and ECMAScript read differently from each other and from
/// Rust's `str::trim`.
pub mod schema {
    use std::borrow::Cow;
    use std::marker::PhantomData;

    use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

    fn reading(generator: &SchemaGenerator) -> bool {
        generator.contract().is_deserialize()
    }

    /// Whitespace as `str::trim` reads it (Unicode `White_Space`), as the body of a regex class.
    pub const SPACE: &str = r"\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
    /// Control characters as `char::is_control` reads them (`Cc`), as the body of a regex class.
    pub const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";

    /// The decimal numbers `min..=max` (no sign, no leading zeros) as runs of digit ranges, one
    /// range per digit: `1..=365` is `[1-9]`, `[1-9][0-9]`, `[1-2][0-9][0-9]`, `3[0-5][0-9]`,
    /// `36[0-5]`.
    fn digit_runs(min: u64, max: u64) -> Vec<Vec<(u8, u8)>> {
        let (min, max) = (u128::from(min), u128::from(max));
        if min > max {
            return Vec::new();
        }
        let digits = |n: u128| n.to_string().len() as u32;
        // Where the runs end: `min` with its last k digits made 9s, `max + 1` with its last k
        // digits made 0s, less one, and `max`.
        let mut stops = vec![max];
        for k in 1..=digits(max) {
            let ten = 10u128.pow(k);
            let nines = min - min % ten + (ten - 1);
            if nines >= min && nines < max {
                stops.push(nines);
            }
            let zeros = (max + 1) - (max + 1) % ten;
            if zeros > min && zeros - 1 <= max {
                stops.push(zeros - 1);
            }
        }
        stops.sort_unstable();
        stops.dedup();
        let mut runs = Vec::new();
        let mut start = min;
        for stop in stops {
            if stop < start {
                continue;
            }
            let (a, b) = (start.to_string(), stop.to_string());
            runs.push(a.bytes().zip(b.bytes()).map(|(x, y)| (x - b'0', y - b'0')).collect());
            start = stop + 1;
        }
        runs
    }

    /// `n` digits, any: `[0-9]{n}`.
    fn any_digits(n: usize) -> String {
        match n {
            0 => String::new(),
            1 => "[0-9]".to_owned(),
            n => format!("[0-9]{{{n}}}"),
        }
    }

    /// [`digit_runs`] as a regex alternation.
    fn digits_between(min: u64, max: u64) -> String {
        let run = |run: &Vec<(u8, u8)>| {
            let mut out = String::new();
            let mut any = 0;
            for &(a, b) in run {
                if (a, b) == (0, 9) {
                    any += 1;
                    continue;
                }
                out.push_str(&any_digits(any));
                any = 0;
                if a == b {
                    out.push(char::from(b'0' + a));
                } else {
                    out.push_str(&format!("[{a}-{b}]"));
                }
            }
            out.push_str(&any_digits(any));
            out
        };
        digit_runs(min, max).iter().map(run).collect::<Vec<_>>().join("|")
    }

    /// A whole number `min..=max` as text a reader trims and parses: space around it, a `+`
    /// (where `sign`), leading zeros.
    pub fn number_pattern(min: u64, max: u64, sign: bool) -> String {
        let sign = if sign { "\\+?" } else { "" };
        format!("^[{SPACE}]*{sign}0*(?:{})[{SPACE}]*$", digits_between(min, max))
    }

    /// A schema transform's step: `names` are required, although their members read a missing
    /// value as the default, because the handler refuses that default (an empty list).
    /// The default that value would be is left out.
    pub fn require(schema: &mut Schema, names: &[&str]) {
        let object = schema.ensure_object();
        if let Some(properties) = object.get_mut("properties").and_then(|p| p.as_object_mut()) {
            for name in names {
                if let Some(member) = properties.get_mut(*name).and_then(|m| m.as_object_mut()) {
                    member.remove("default");
                }
            }
        }
        let required = object.entry("required").or_insert_with(|| serde_json::json!([]));
        if let Some(list) = required.as_array_mut() {
            for name in names {
                if !list.iter().any(|n| n == name) {
                    list.push((*name).into());
                }
            }
        }
    }

    /// One of `words` (ASCII; in any case where `any_case`), or nothing, with space around: what
    /// a trimmed comparison takes (`?status=pending`, `"action": "authorizations"`).
    pub fn choice_or_blank(words: &[&str], any_case: bool) -> String {
        let word = |word: &str| -> String {
            word.chars()
                .map(|c| match c {
                    'a'..='z' | 'A'..='Z' if any_case => {
                        format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
                    }
                    'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' => c.to_string(),
                    other => format!("\\u{:04x}", u32::from(other)),
                })
                .collect()
        };
        let words: Vec<String> = words.iter().map(|w| word(w)).collect();
        format!("^[{SPACE}]*({})?[{SPACE}]*$", words.join("|"))
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
            {"type": "integer", "minimum": 0, "maximum": u64::MAX},
            {"type": "string", "pattern": format!("^[{SPACE}]*\\+?[0-9]{{1,19}}[{SPACE}]*$")},
        ]}, write {"type": "integer", "minimum": 0};
        /// A signed whole number: `-1` or `"-1"` (read), `-1` (written).
        IntOrText: read {"anyOf": [
            {"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX},
            {"type": "string", "pattern": format!("^[{SPACE}]*[-+]?[0-9]{{1,18}}[{SPACE}]*$")},
        ]}, write {"type": "integer"};
        /// A flag: `true` or `"true"`, `"yes"`, `"1"`, … (read), `true` (written).
        BoolOrText: read {"anyOf": [
            {"type": "boolean"},
            {"type": "string", "pattern": format!("^[{SPACE}]*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[Yy][Ee][Ss]|[Nn][Oo]|[01])?[{SPACE}]*$")},
        ]}, write {"type": "boolean"};
        /// An identifier: `"abc"` or `12` (read), `"abc"` (written).
        TextOrNumber: read {"anyOf": [
            {"type": "string"},
            {"type": "integer", "minimum": i64::MIN, "maximum": u64::MAX},
        ]},
            write {"type": "string"};
        /// A list of strings: also one string, or `null` (read); the list (written).
        StringOrList: read {"anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}},
            {"type": "null"},
        ]}, write {"type": "array", "items": {"type": "string"}};
    }

    /// A count of `MIN..=MAX` ([`super::u64_or_text`], with the handler's bounds): `1` or `"1"`
    /// (read), `1` (written).
    pub struct Count<const MIN: u64, const MAX: u64>;
    impl<const MIN: u64, const MAX: u64> JsonSchema for Count<MIN, MAX> {
        fn inline_schema() -> bool {
            true
        }
        fn schema_name() -> Cow<'static, str> {
            format!("Count_{MIN}_{MAX}").into()
        }
        fn json_schema(generator: &mut SchemaGenerator) -> Schema {
            let number = json_schema!({"type": "integer", "minimum": MIN, "maximum": MAX});
            if reading(generator) {
                json_schema!({"anyOf": [
                    number,
                    {"type": "string", "pattern": number_pattern(MIN, MAX, true)},
                ]})
            } else {
                number
            }
        }
    }

    /// A name: trimmed, 1 to `MAX` characters, none of them a control character.
    pub struct Name<const MAX: usize>;
    impl<const MAX: usize> JsonSchema for Name<MAX> {
        fn inline_schema() -> bool {
            true
        }
        fn schema_name() -> Cow<'static, str> {
            format!("Name_{MAX}").into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "type": "string",
                "minLength": 1,
                "maxLength": MAX,
                "pattern": format!("^[^{CONTROL}]*[^{CONTROL}{SPACE}][^{CONTROL}]*$"),
            })
        }
    }

    /// Free text: trimmed, at most `MAX` characters, none of them a control character; may be
    /// empty.
    pub struct Text<const MAX: usize>;
    impl<const MAX: usize> JsonSchema for Text<MAX> {
        fn inline_schema() -> bool {
            true
        }
        fn schema_name() -> Cow<'static, str> {
            format!("Text_{MAX}").into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "type": "string",
                "maxLength": MAX,
                "pattern": format!("^[^{CONTROL}]*$"),
            })
        }
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

    #[cfg(test)]
    mod tests {
        use super::*;

        /// Whether `n`'s digits fall in one of `runs`.
        fn in_runs(runs: &[Vec<(u8, u8)>], n: u64) -> bool {
            let digits: Vec<u8> = n.to_string().bytes().map(|d| d - b'0').collect();
            runs.iter().any(|run| {
                run.len() == digits.len()
                    && run.iter().zip(&digits).all(|(&(a, b), d)| (a..=b).contains(d))
            })
        }

        #[test]
        fn digit_runs_are_exactly_the_range() {
            for min in 0..=110 {
                for max in min..=230 {
                    let runs = digit_runs(min, max);
                    for n in 0..=300 {
                        assert_eq!(
                            in_runs(&runs, n),
                            (min..=max).contains(&n),
                            "{min}..={max}: {n}"
                        );
                    }
                }
            }
            let wide = [
                (1, 365),
                (0, 3_650),
                (1, u64::from(u32::MAX)),
                (0, i64::MAX as u64),
                (1, u64::MAX),
                (17, 1_000_000_007),
            ];
            for (min, max) in wide {
                let runs = digit_runs(min, max);
                let mut probes = vec![0, 1, 9, 10, 99, 100, 101, u64::MAX];
                for edge in [min, max] {
                    probes.extend([edge.saturating_sub(1), edge, edge.saturating_add(1)]);
                }
                probes.extend((0..64).map(|shift| 1u64 << shift));
                probes.extend((1..20).map(|k| 10u64.pow(k) - 1));
                for n in probes {
                    assert_eq!(in_runs(&runs, n), (min..=max).contains(&n), "{min}..={max}: {n}");
                }
            }
        }

        #[test]
        fn a_bounded_count_pattern_reads_as_its_alternation() {
            assert_eq!(
                digits_between(1, 365),
                "[1-9]|[1-9][0-9]|[1-2][0-9]{2}|3[0-5][0-9]|36[0-5]"
            );
            assert_eq!(
                digits_between(0, 3_650),
                "[0-9]|[1-9][0-9]|[1-9][0-9]{2}|[1-2][0-9]{3}|3[0-5][0-9]{2}|36[0-4][0-9]|3650"
            );
            assert_eq!(
                number_pattern(1, 9, true),
                format!("^[{SPACE}]*\\+?0*(?:[1-9])[{SPACE}]*$")
            );
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
