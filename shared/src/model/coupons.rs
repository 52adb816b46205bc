//! Coupon codes as customers enter them (openapi.yaml, "Promotions"):
//! normalised so that case and surrounding spaces do not matter.

/// The most coupon codes a cart or an order holds at once.
pub const MAX_COUPON_CODES: usize = 5;

/// A coupon code as entered, normalised: surrounding spaces dropped, upper
/// case; 3 to 32 characters of letters, digits, `-` and `_`.
pub fn coupon_code(raw: String) -> Result<String, String> {
    let code = raw.trim().to_ascii_uppercase();
    let valid = (3..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(code)
    } else {
        Err("must be 3 to 32 letters, digits, - and _".into())
    }
}

/// A list of coupon codes as entered: at most [`MAX_COUPON_CODES`], each
/// normalised, each once.
pub fn coupon_codes(codes: Vec<String>) -> Result<Vec<String>, String> {
    if codes.len() > MAX_COUPON_CODES {
        return Err(format!("may hold at most {MAX_COUPON_CODES} codes"));
    }
    let mut normalised: Vec<String> = Vec::with_capacity(codes.len());
    for code in codes {
        let code = coupon_code(code)?;
        if !normalised.contains(&code) {
            normalised.push(code);
        }
    }
    Ok(normalised)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_without_case_or_surrounding_spaces_and_count_once() {
        let codes = coupon_codes(vec![" summer-10 ".into(), "SUMMER-10".into(), "vip_2".into()]);
        assert_eq!(codes, Ok(vec!["SUMMER-10".to_owned(), "VIP_2".to_owned()]));
        for bad in ["ab", "two words", "é-code", &"x".repeat(33)] {
            assert!(coupon_code(bad.to_owned()).is_err(), "{bad}");
        }
        assert!(coupon_codes(vec!["code-1".into(); 6]).is_err(), "six codes");
    }
}
