//! The account a request is made for: its API keys and its billing status (SPEC §3, checks 1
//! and 6).

use crate::codes::Rejection;

/// The account's billing status (SPEC §3, check 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Billing {
    /// Billing works: validation may be used.
    #[default]
    Active,
    /// No billing configuration.
    NoBillingConfig,
    /// No payment method on file.
    NoPaymentMethod,
    /// The last payment failed.
    PaymentFailed,
    /// Billing is suspended.
    Suspended,
}

impl Billing {
    /// Every status, `Active` first.
    pub const ALL: [Billing; 5] = [
        Billing::Active,
        Billing::NoBillingConfig,
        Billing::NoPaymentMethod,
        Billing::PaymentFailed,
        Billing::Suspended,
    ];

    /// The status's name, as in a world and in the SPEC (`active`, `no_billing_config`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Billing::Active => "active",
            Billing::NoBillingConfig => "no_billing_config",
            Billing::NoPaymentMethod => "no_payment_method",
            Billing::PaymentFailed => "payment_failed",
            Billing::Suspended => "suspended",
        }
    }

    /// The 402 a batch asking for validation gets with this status; `None` for `Active`.
    pub(crate) const fn rejection(self) -> Option<Rejection> {
        match self {
            Billing::Active => None,
            Billing::NoBillingConfig => Some(Rejection::NoBillingConfig),
            Billing::NoPaymentMethod => Some(Rejection::NoPaymentMethod),
            Billing::PaymentFailed => Some(Rejection::PaymentFailed),
            Billing::Suspended => Some(Rejection::Suspended),
        }
    }
}

/// The account a request is made for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Account {
    /// The account's API keys.
    pub api_keys: Vec<String>,
    /// The account's billing status.
    pub billing: Billing,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_but_active_is_a_402_whose_code_is_its_name() {
        for billing in Billing::ALL {
            match billing.rejection() {
                None => assert_eq!(billing, Billing::Active),
                Some(rejection) => {
                    assert_eq!(rejection.status(), 402);
                    assert_eq!(rejection.as_str(), billing.as_str());
                }
            }
        }
    }
}
