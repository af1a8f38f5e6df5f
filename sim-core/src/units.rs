//! Durations as written in scenario files: `150ms`, `2.5s`, `1m`, `10us` (or `10µs`), `5ns`, `0`.
//!
//! Grammar: optional surrounding whitespace, a decimal number (`digits` or `digits.digits`),
//! optional whitespace, and a unit: `ns`, `us` (also `µs`/`μs`), `ms`, `s`, `m` (minutes) or
//! `h`. Units are case-sensitive. Only zero may be written without a unit. [`parse_duration`]
//! rejects any sign; [`parse_signed_duration`] accepts a leading `-` or `+` for clock offsets.
//!
//! Parsing is exact: the integer and fractional digits are read as integers and scaled in
//! 128-bit arithmetic, never through `f64`, so `0.1s` is exactly 100_000_000 ns on every
//! machine. A value that is not a whole number of nanoseconds (`1.5ns`) is an error rather than
//! being rounded, and so is a value that does not fit.
//!
//! [`Duration`] (de)serializes through this grammar: it is written with
//! [`format_nanos`] and read back exactly.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::time::{Duration, format_nanos};

/// The units a duration may use, as listed in error messages.
pub const UNIT_NAMES: &str = "ns, us, ms, s, m, h";

/// Every accepted unit spelling and its length in nanoseconds.
const UNITS: [(&str, u64); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),  // MICRO SIGN
    ("\u{3bc}s", 1_000), // GREEK SMALL LETTER MU
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Fractional digits beyond this many (after trailing zeros are dropped) can never give a
/// whole number of nanoseconds for any unit, and would overflow the exact arithmetic.
const MAX_FRACTION_DIGITS: usize = 20;

/// Why a duration string was rejected. Every message quotes the offending input.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum UnitError {
    /// The input was empty or only whitespace.
    #[error(
        "empty duration: expected a number followed by a unit (ns, us, ms, s, m, h), e.g. \"150ms\""
    )]
    Empty,
    /// The input does not start with a number (after the sign, where one is allowed).
    #[error(
        "missing number in {input:?}: expected a number followed by a unit (ns, us, ms, s, m, h), e.g. \"150ms\""
    )]
    MissingNumber {
        /// The whole (trimmed) input.
        input: String,
    },
    /// The number is malformed, e.g. `1.2.3s`, `.5s` or `5.s`.
    #[error(
        "invalid number {number:?} in {input:?}: expected digits with an optional fractional part, e.g. \"2.5s\""
    )]
    InvalidNumber {
        /// The malformed number.
        number: String,
        /// The whole (trimmed) input.
        input: String,
    },
    /// A non-zero number without a unit.
    #[error(
        "missing unit in {input:?}: a duration needs a unit, one of ns, us, ms, s, m, h (only 0 may be written without one)"
    )]
    MissingUnit {
        /// The whole (trimmed) input.
        input: String,
    },
    /// The text after the number is not a known unit.
    #[error("unknown unit {unit:?} in {input:?}: expected one of ns, us, ms, s, m, h")]
    UnknownUnit {
        /// The unrecognised unit text.
        unit: String,
        /// The whole (trimmed) input.
        input: String,
    },
    /// A `-` sign where only non-negative durations are allowed.
    #[error("negative duration {input:?}: durations cannot be negative")]
    Negative {
        /// The whole (trimmed) input.
        input: String,
    },
    /// A `+` sign where durations are written unsigned.
    #[error("unexpected sign in {input:?}: write the duration without a '+'")]
    UnexpectedSign {
        /// The whole (trimmed) input.
        input: String,
    },
    /// The value is not a whole number of nanoseconds, e.g. `1.5ns` or `0.0001us`.
    #[error(
        "{input:?} is not a whole number of nanoseconds: durations have 1ns resolution (at most 3 decimal places with us, 6 with ms, 9 with s)"
    )]
    TooPrecise {
        /// The whole (trimmed) input.
        input: String,
    },
    /// The value does not fit the target type (u64 or i64 nanoseconds).
    #[error("duration {input:?} is out of range: the limit is {limit}")]
    Overflow {
        /// The whole (trimmed) input.
        input: String,
        /// The largest magnitude the target accepts, formatted as a duration.
        limit: String,
    },
}

/// Parses a non-negative duration such as `150ms`, `2.5s` or `0` into exact nanoseconds.
///
/// Used for every duration field of a scenario; see the [module docs](self) for the grammar.
pub fn parse_duration(s: &str) -> Result<Duration, UnitError> {
    let input = s.trim();
    if input.is_empty() {
        return Err(UnitError::Empty);
    }
    let (sign, body) = split_sign(input);
    let magnitude = parse_magnitude(body, input)?;
    match sign {
        Some('-') => Err(UnitError::Negative {
            input: input.to_owned(),
        }),
        Some(_) => Err(UnitError::UnexpectedSign {
            input: input.to_owned(),
        }),
        None => u64::try_from(magnitude)
            .map(Duration)
            .map_err(|_| UnitError::Overflow {
                input: input.to_owned(),
                limit: format_nanos(u64::MAX),
            }),
    }
}

/// Parses a duration with an optional leading `-` or `+` (e.g. `-250ms`) into signed
/// nanoseconds.
///
/// Used for clock offsets and clock jumps, which may go backwards. The range is that of `i64`.
pub fn parse_signed_duration(s: &str) -> Result<i64, UnitError> {
    let input = s.trim();
    if input.is_empty() {
        return Err(UnitError::Empty);
    }
    let (sign, body) = split_sign(input);
    let magnitude = parse_magnitude(body, input)?;
    let signed = if sign == Some('-') {
        0i128.checked_sub_unsigned(magnitude)
    } else {
        i128::try_from(magnitude).ok()
    };
    signed
        .and_then(|v| i64::try_from(v).ok())
        .ok_or_else(|| UnitError::Overflow {
            input: input.to_owned(),
            limit: format!("±{}", format_nanos(i64::MAX.unsigned_abs())),
        })
}

/// Formats signed nanoseconds so that [`parse_signed_duration`] reads them back exactly
/// (`-1.5s`, `250ms`).
pub fn format_signed_nanos(ns: i64) -> String {
    if ns < 0 {
        format!("-{}", format_nanos(ns.unsigned_abs()))
    } else {
        format_nanos(ns.unsigned_abs())
    }
}

/// Splits a leading `-` or `+` off `input`.
fn split_sign(input: &str) -> (Option<char>, &str) {
    match input.chars().next() {
        Some(c @ ('-' | '+')) => (Some(c), &input[c.len_utf8()..]),
        _ => (None, input),
    }
}

/// Parses an unsigned `number unit` body into nanoseconds. `input` is the whole trimmed input,
/// for error messages. The result may exceed `u64`; callers check their own range.
fn parse_magnitude(body: &str, input: &str) -> Result<u128, UnitError> {
    let end = body
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || c == '.'))
        .map_or(body.len(), |(i, _)| i);
    let (number, rest) = body.split_at(end);
    if number.is_empty() {
        return Err(UnitError::MissingNumber {
            input: input.to_owned(),
        });
    }
    let (int_digits, frac_digits) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    let malformed = int_digits.is_empty()
        || (number.contains('.') && frac_digits.is_empty())
        || frac_digits.contains('.');
    if malformed {
        return Err(UnitError::InvalidNumber {
            number: number.to_owned(),
            input: input.to_owned(),
        });
    }
    let overflow = || UnitError::Overflow {
        input: input.to_owned(),
        limit: format_nanos(u64::MAX),
    };
    let unit = rest.trim_start();
    if unit.is_empty() {
        // Only zero may go without a unit.
        return if number.chars().all(|c| c == '0' || c == '.') {
            Ok(0)
        } else {
            Err(UnitError::MissingUnit {
                input: input.to_owned(),
            })
        };
    }
    let scale = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|&(_, scale)| u128::from(scale))
        .ok_or_else(|| UnitError::UnknownUnit {
            unit: unit.to_owned(),
            input: input.to_owned(),
        })?;

    let whole = digits_value(int_digits).ok_or_else(overflow)?;
    let mut total = whole.checked_mul(scale).ok_or_else(overflow)?;

    let frac_digits = frac_digits.trim_end_matches('0');
    if !frac_digits.is_empty() {
        let too_precise = || UnitError::TooPrecise {
            input: input.to_owned(),
        };
        if frac_digits.len() > MAX_FRACTION_DIGITS {
            return Err(too_precise());
        }
        // Both fit: at most 20 digits (< 2^67) times a scale below 2^42.
        let frac = digits_value(frac_digits).ok_or_else(too_precise)?;
        let denominator = 10u128
            .checked_pow(u32::try_from(frac_digits.len()).map_err(|_| too_precise())?)
            .ok_or_else(too_precise)?;
        let scaled = frac.checked_mul(scale).ok_or_else(too_precise)?;
        if !scaled.is_multiple_of(denominator) {
            return Err(too_precise());
        }
        total = total
            .checked_add(scaled / denominator)
            .ok_or_else(overflow)?;
    }
    Ok(total)
}

/// The value of a string of ASCII digits, or `None` if it overflows `u128`.
fn digits_value(digits: &str) -> Option<u128> {
    digits.bytes().try_fold(0u128, |acc, b| {
        acc.checked_mul(10)?
            .checked_add(u128::from(b.checked_sub(b'0')?))
    })
}

impl FromStr for Duration {
    type Err = UnitError;

    /// Same as [`parse_duration`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_duration(s)
    }
}

/// Written as a string in the duration grammar (`"1.5s"`), which reads back exactly.
impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_nanos(self.0))
    }
}

/// Read from a string in the duration grammar, or from the bare integer `0`.
impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DurationVisitor)
    }
}

/// Serde visitor for [`Duration`].
struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration string such as \"150ms\" or \"2.5s\" (or the integer 0)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse_duration(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        if v == 0 {
            Ok(Duration::ZERO)
        } else {
            Err(E::custom(UnitError::MissingUnit {
                input: v.to_string(),
            }))
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::custom(UnitError::Negative {
                input: v.to_string(),
            })),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::rng::{SimRng, Stream};

    fn ns(s: &str) -> u64 {
        parse_duration(s).unwrap().0
    }

    fn err(s: &str) -> String {
        parse_duration(s).unwrap_err().to_string()
    }

    #[test]
    fn parses_every_unit_exactly() {
        assert_eq!(ns("150ms"), 150_000_000);
        assert_eq!(ns("2.5s"), 2_500_000_000);
        assert_eq!(ns("0.1s"), 100_000_000);
        assert_eq!(ns("1m"), 60_000_000_000);
        assert_eq!(ns("1.5m"), 90_000_000_000);
        assert_eq!(ns("1h"), 3_600_000_000_000);
        assert_eq!(ns("0.25h"), 900_000_000_000);
        assert_eq!(ns("10us"), 10_000);
        assert_eq!(ns("10µs"), 10_000);
        assert_eq!(ns("10\u{3bc}s"), 10_000);
        assert_eq!(ns("1.001us"), 1_001);
        assert_eq!(ns("5ns"), 5);
        assert_eq!(ns("0.000000001s"), 1);
        assert_eq!(ns("1.0ns"), 1);
        assert_eq!(ns("1.500000000000000000000000000000s"), 1_500_000_000);
        assert_eq!(ns("0.0000000001m"), 6);
        assert_eq!(ns("007ms"), 7_000_000);
    }

    #[test]
    fn zero_whitespace_and_limits() {
        assert_eq!(ns("0"), 0);
        assert_eq!(ns("0s"), 0);
        assert_eq!(ns("0.0"), 0);
        assert_eq!(ns("  150ms\t"), 150_000_000);
        assert_eq!(ns("5 ms"), 5_000_000);
        assert_eq!(ns("18446744073.709551615s"), u64::MAX);
        assert_eq!(ns("18446744073709551615ns"), u64::MAX);
        assert_eq!("2.5s".parse::<Duration>().unwrap(), Duration(2_500_000_000));
    }

    #[test]
    fn signed_durations() {
        assert_eq!(parse_signed_duration("-250ms").unwrap(), -250_000_000);
        assert_eq!(parse_signed_duration("+1.5s").unwrap(), 1_500_000_000);
        assert_eq!(parse_signed_duration(" 3us ").unwrap(), 3_000);
        assert_eq!(parse_signed_duration("-0").unwrap(), 0);
        assert_eq!(
            parse_signed_duration("-9223372036.854775808s").unwrap(),
            i64::MIN
        );
        assert_eq!(
            parse_signed_duration("9223372036854775807ns").unwrap(),
            i64::MAX
        );
        assert_eq!(
            parse_signed_duration("9223372036854775808ns")
                .unwrap_err()
                .to_string(),
            "duration \"9223372036854775808ns\" is out of range: the limit is ±9223372036.854775807s"
        );
        assert_eq!(
            parse_signed_duration("-5").unwrap_err().to_string(),
            "missing unit in \"-5\": a duration needs a unit, one of ns, us, ms, s, m, h (only 0 may be written without one)"
        );
        assert_eq!(
            parse_signed_duration("--5ms").unwrap_err().to_string(),
            "missing number in \"--5ms\": expected a number followed by a unit (ns, us, ms, s, m, h), e.g. \"150ms\""
        );
    }

    #[test]
    fn error_messages_name_the_problem() {
        assert_eq!(
            err("5sec"),
            "unknown unit \"sec\" in \"5sec\": expected one of ns, us, ms, s, m, h"
        );
        assert_eq!(
            err("5"),
            "missing unit in \"5\": a duration needs a unit, one of ns, us, ms, s, m, h (only 0 may be written without one)"
        );
        assert_eq!(
            err("-5ms"),
            "negative duration \"-5ms\": durations cannot be negative"
        );
        assert_eq!(
            err("+5ms"),
            "unexpected sign in \"+5ms\": write the duration without a '+'"
        );
        assert_eq!(
            err("1.5ns"),
            "\"1.5ns\" is not a whole number of nanoseconds: durations have 1ns resolution (at most 3 decimal places with us, 6 with ms, 9 with s)"
        );
        assert!(err("0.0000000001s").contains("not a whole number of nanoseconds"));
        assert!(err("1.00000000000000000000000000001s").contains("not a whole number"));
        assert_eq!(
            err("18446744073709551616ns"),
            "duration \"18446744073709551616ns\" is out of range: the limit is 18446744073.709551615s"
        );
        assert!(err("99999999999999999999999999999999999999999999h").contains("out of range"));
        assert_eq!(
            err(""),
            "empty duration: expected a number followed by a unit (ns, us, ms, s, m, h), e.g. \"150ms\""
        );
        assert_eq!(err("   "), err(""));
        assert_eq!(
            err("ms"),
            "missing number in \"ms\": expected a number followed by a unit (ns, us, ms, s, m, h), e.g. \"150ms\""
        );
        assert_eq!(
            err("1.2.3s"),
            "invalid number \"1.2.3\" in \"1.2.3s\": expected digits with an optional fractional part, e.g. \"2.5s\""
        );
        assert!(err(".5s").starts_with("invalid number \".5\""));
        assert!(err("5.s").starts_with("invalid number \"5.\""));
        assert_eq!(
            err("5MS"),
            "unknown unit \"MS\" in \"5MS\": expected one of ns, us, ms, s, m, h"
        );
        assert_eq!(
            err("1h30m"),
            "unknown unit \"h30m\" in \"1h30m\": expected one of ns, us, ms, s, m, h"
        );
    }

    #[test]
    fn non_ascii_input_does_not_panic() {
        assert_eq!(
            err("5µ"),
            "unknown unit \"µ\" in \"5µ\": expected one of ns, us, ms, s, m, h"
        );
        assert!(err("ü").starts_with("missing number in \"ü\""));
        assert!(err("5ü").starts_with("unknown unit \"ü\""));
        assert!(err("µs").starts_with("missing number"));
        assert!(err("-ü").starts_with("missing number"));
        assert!(parse_signed_duration("ü").is_err());
        assert!(parse_signed_duration("").is_err());
        assert!(parse_signed_duration("-").is_err());
    }

    #[test]
    fn format_nanos_round_trips() {
        let fixed = [
            0,
            1,
            999,
            1_000,
            1_001,
            1_500_000_000,
            60_000_000_000,
            90_000_000_000,
            3_600_000_000_001,
            u64::MAX,
            u64::MAX - 1,
        ];
        let mut rng = SimRng::new(11, Stream::Setup);
        let random = (0..20_000).map(|i| rng.next_u64() >> (i % 64));
        for v in fixed.into_iter().chain(random) {
            let text = format_nanos(v);
            assert_eq!(parse_duration(&text), Ok(Duration(v)), "{text}");
        }
        for v in [
            0,
            1,
            -1,
            -1_500_000_000,
            i64::MIN,
            i64::MAX,
            -3_600_000_000_000,
        ] {
            assert_eq!(parse_signed_duration(&format_signed_nanos(v)), Ok(v));
        }
    }

    #[test]
    fn serde_through_toml() {
        #[derive(Debug, Deserialize, Serialize, PartialEq)]
        struct Cfg {
            timeout: Duration,
        }
        let cfg: Cfg = toml::from_str("timeout = \"2.5s\"").unwrap();
        assert_eq!(cfg.timeout, Duration(2_500_000_000));
        let cfg: Cfg = toml::from_str("timeout = 0").unwrap();
        assert_eq!(cfg.timeout, Duration::ZERO);
        let odd = Cfg {
            timeout: Duration(3_600_000_000_001),
        };
        let text = toml::to_string(&odd).unwrap();
        assert_eq!(text.trim(), "timeout = \"3600.000000001s\"");
        assert_eq!(toml::from_str::<Cfg>(&text).unwrap(), odd);

        let e = toml::from_str::<Cfg>("timeout = \"5sec\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown unit \"sec\" in \"5sec\""), "{e}");
        let e = toml::from_str::<Cfg>("timeout = 5")
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing unit in \"5\""), "{e}");
        let e = toml::from_str::<Cfg>("timeout = -5")
            .unwrap_err()
            .to_string();
        assert!(e.contains("durations cannot be negative"), "{e}");
    }
}
