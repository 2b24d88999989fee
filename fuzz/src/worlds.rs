//! The fixed worlds the byte-level targets answer in, and the pool of numbers the structured
//! model draws from.

use std::sync::LazyLock;

use bulk_contacts::Timestamp;
use bulk_contacts::testing::World;

/// Valid, canonical E.164 numbers of several countries (checked by a test of this crate).
pub const VALID_NUMBERS: [&str; 14] = [
    "+18005551234",
    "+14155559876",
    "+12125551000",
    "+13105558888",
    "+14155550000",
    "+442079460000",
    "+881619360238",
    "+18764110349",
    "+852800123456",
    "+256352345678",
    "+967712355678",
    "+61891521234",
    "+243991234567",
    "+16002092345",
];

/// Strings that fail the phone rule in different ways: not canonical, not a valid number,
/// too short, surrounded by or holding whitespace, without `+`, non-ASCII digits, bare `+`.
pub const INVALID_NUMBERS: [&str; 14] = [
    "+200237082111",
    "+11234567890",
    "+1415555987",
    " +14155559876",
    "+14155559876 ",
    "+1 415 555 9876",
    "14155559876",
    "+１４１５５５５９８７６",
    "+",
    "+0123456789",
    "+1234567890123456",
    "tel:+14155559876",
    "+1-415-555-9876",
    "+14155559876\n",
];

/// The default `now` of a world (SPEC §8).
pub fn default_now() -> Timestamp {
    World::default().now
}

static FIXED: LazyLock<[World; 4]> = LazyLock::new(|| {
    let rich = r#"{
        "lists": {"+18005551234": {"welcome_journeys": 2}, "+14155550000": {},
                  "+442079460000": {"welcome_journeys": 1}, "+61891521234": "error"},
        "contacts": ["+14155559876", "+12125551000"],
        "list_contacts": [["+14155559876", "+18005551234"], ["+12125551000", "+442079460000"]],
        "carrier": {"+13105558888": "not_sendable", "+16002092345": "not_sendable",
                    "+243991234567": "error"},
        "validation": {
            "+12125551000": {"phone": "+12125551000", "valid": true, "line_type": "fixed line",
                "carrier": "Frontier", "carrier_raw": "FRONTIER", "ported": true, "country": "US",
                "state": "NY", "city": "", "on_dnc": false, "disposition": "unreachable",
                "cost": 0.003, "cached": false},
            "+14155550000": {"phone": "+14155550000", "valid": false, "line_type": "voip",
                "carrier": "", "carrier_raw": "", "ported": false, "country": "US",
                "state": "CA", "city": "San Francisco", "on_dnc": true, "disposition": "invalid",
                "cost": 0, "cached": true},
            "+442079460000": {"phone": "+442079460000", "valid": true, "line_type": "mobile",
                "carrier": "BT", "carrier_raw": "BT", "ported": false, "country": "GB",
                "state": "", "city": "London", "on_dnc": false, "disposition": "risky",
                "cost": 0.01, "cached": false},
            "+18764110349": "provider_error"
        }
    }"#;
    let mut rich = World::from_json(rich).expect("the rich fixed world is a world");
    let builtin = World::builtin();
    let mut suspended = rich.clone();
    suspended.billing = bulk_contacts::Billing::Suspended;
    let failing = r#"{
        "billing": "no_payment_method",
        "lists": {"+18005551234": {"welcome_journeys": 1}, "+14155550000": "error"},
        "carrier": {"+12125551000": "error"},
        "failures": ["directory"]
    }"#;
    let failing = World::from_json(failing).expect("the failing fixed world is a world");
    rich.api_keys.insert(0, format!("trk_{}0", "Z".repeat(31)));
    [builtin, rich, suspended, failing]
});

/// Four worlds: the built-in one; a rich one (lists with journeys and a failing list,
/// existing contacts and memberships, not-sendable and failing carrier entries, every kind of
/// validation result, two keys); the rich one with suspended billing; and one where a list,
/// a carrier entry and the directory fail, with no payment method.
pub fn fixed() -> &'static [World; 4] {
    &FIXED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_pools_are_what_they_claim() {
        for number in VALID_NUMBERS {
            assert!(bulk_contacts::e164::is_valid(number), "{number}");
        }
        for number in INVALID_NUMBERS {
            assert!(!bulk_contacts::e164::is_valid(number), "{number:?}");
        }
    }

    #[test]
    fn the_fixed_worlds_load() {
        assert_eq!(fixed().len(), 4);
        assert_eq!(fixed()[1].api_keys.len(), 2);
    }
}
