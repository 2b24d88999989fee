//! The three limits of SPEC §2, and the nesting limit of SPEC §3 check 3. Every message that
//! names a limit follows the configured value.

/// The configurable limits of a request (SPEC §2), valid by construction: each is at least
/// what the smallest request holding one object contact needs (`{"contacts":[{}]}`: one
/// contact, 2 bytes for it, 17 for the body). Below that no contact could even be read as an
/// object, so [`Limits::new`] refuses it.
///
/// ```
/// use bulk_contacts::{InvalidLimit, Limits};
///
/// let limits = Limits::new(500, 2000, 1 << 20)?;
/// assert_eq!(limits.max_contacts(), 500);
/// let small = Limits::DEFAULT.with_max_contact_bytes(60)?;
/// assert_eq!((small.max_contacts(), small.max_contact_bytes()), (1000, 60));
/// assert_eq!(
///     Limits::DEFAULT.with_max_contacts(0),
///     Err(InvalidLimit { name: "max_contacts", minimum: 1, value: 0 })
/// );
/// # Ok::<(), InvalidLimit>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    max_contacts: usize,
    max_contact_bytes: usize,
    max_body_bytes: usize,
}

/// A limit below its minimum (see [`Limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{name} must be at least {minimum}, not {value}")]
pub struct InvalidLimit {
    /// Which limit: `max_contacts`, `max_contact_bytes` or `max_body_bytes`.
    pub name: &'static str,
    /// Its smallest allowed value.
    pub minimum: usize,
    /// The value given.
    pub value: usize,
}

impl Limits {
    /// The SPEC's defaults: 1000 contacts, 4000 bytes per contact, 5,242,880 bytes per body.
    pub const DEFAULT: Limits = Limits {
        max_contacts: 1000,
        max_contact_bytes: 4000,
        max_body_bytes: 5 * 1024 * 1024,
    };

    /// The fewest contacts a request may be limited to: one.
    pub const MIN_CONTACTS: usize = 1;
    /// The smallest per-contact limit: `{}`, the smallest object.
    pub const MIN_CONTACT_BYTES: usize = 2;
    /// The smallest body limit: `{"contacts":[{}]}`, the smallest body holding an object.
    pub const MIN_BODY_BYTES: usize = 17;

    /// The deepest nesting of arrays and objects a body may have (SPEC §3 check 3): 127,
    /// `serde_json`'s recursion limit (128 is `invalid_json`). Not configurable.
    pub const MAX_BODY_NESTING: usize = 127;
    /// The deepest nesting one contact may have: the body's object and its `contacts` array
    /// take two of [`MAX_BODY_NESTING`](Limits::MAX_BODY_NESTING)'s levels.
    pub const MAX_CONTACT_NESTING: usize = Limits::MAX_BODY_NESTING - 2;

    /// Limits of at most `max_contacts` contacts per request, `max_contact_bytes` bytes per
    /// contact and `max_body_bytes` bytes per body, each at least its minimum.
    pub const fn new(
        max_contacts: usize,
        max_contact_bytes: usize,
        max_body_bytes: usize,
    ) -> Result<Limits, InvalidLimit> {
        match Limits::DEFAULT.with_max_contacts(max_contacts) {
            Ok(limits) => match limits.with_max_contact_bytes(max_contact_bytes) {
                Ok(limits) => limits.with_max_body_bytes(max_body_bytes),
                Err(invalid) => Err(invalid),
            },
            Err(invalid) => Err(invalid),
        }
    }

    /// These limits with another number of contacts per request (at least 1).
    pub const fn with_max_contacts(self, value: usize) -> Result<Limits, InvalidLimit> {
        self.with(Limit::Contacts, value)
    }

    /// These limits with another per-contact limit in bytes (at least 2).
    pub const fn with_max_contact_bytes(self, value: usize) -> Result<Limits, InvalidLimit> {
        self.with(Limit::ContactBytes, value)
    }

    /// These limits with another body limit in bytes (at least 17).
    pub const fn with_max_body_bytes(self, value: usize) -> Result<Limits, InvalidLimit> {
        self.with(Limit::BodyBytes, value)
    }

    /// These limits with `limit` set to `value`, when it is at least its minimum.
    const fn with(self, limit: Limit, value: usize) -> Result<Limits, InvalidLimit> {
        let (name, minimum) = match limit {
            Limit::Contacts => ("max_contacts", Limits::MIN_CONTACTS),
            Limit::ContactBytes => ("max_contact_bytes", Limits::MIN_CONTACT_BYTES),
            Limit::BodyBytes => ("max_body_bytes", Limits::MIN_BODY_BYTES),
        };
        if value < minimum {
            return Err(InvalidLimit {
                name,
                minimum,
                value,
            });
        }
        let mut limits = self;
        match limit {
            Limit::Contacts => limits.max_contacts = value,
            Limit::ContactBytes => limits.max_contact_bytes = value,
            Limit::BodyBytes => limits.max_body_bytes = value,
        }
        Ok(limits)
    }

    /// Most contacts one request may hold (default 1000; equal is allowed).
    pub const fn max_contacts(&self) -> usize {
        self.max_contacts
    }

    /// Most bytes of one contact's compact JSON serialization (default 4000; equal is allowed).
    pub const fn max_contact_bytes(&self) -> usize {
        self.max_contact_bytes
    }

    /// Most bytes of a request body (default 5 MiB = 5,242,880; equal is allowed).
    pub const fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }
}

/// One of the three configurable limits.
#[derive(Clone, Copy)]
enum Limit {
    Contacts,
    ContactBytes,
    BodyBytes,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_limit_is_refused_below_its_minimum_and_kept_from_it() {
        type With = fn(usize) -> Result<Limits, InvalidLimit>;
        let cases: [(&str, usize, With); 3] = [
            ("max_contacts", 1, |n| Limits::DEFAULT.with_max_contacts(n)),
            ("max_contact_bytes", 2, |n| {
                Limits::DEFAULT.with_max_contact_bytes(n)
            }),
            ("max_body_bytes", 17, |n| {
                Limits::DEFAULT.with_max_body_bytes(n)
            }),
        ];
        for (name, minimum, with) in cases {
            for value in [0, minimum - 1] {
                assert_eq!(
                    with(value),
                    Err(InvalidLimit {
                        name,
                        minimum,
                        value
                    })
                );
            }
            assert!(with(minimum).is_ok(), "{name}");
        }
        let limits = Limits::new(1, 2, 17).expect("the minimums");
        assert_eq!(
            (
                limits.max_contacts(),
                limits.max_contact_bytes(),
                limits.max_body_bytes()
            ),
            (1, 2, 17)
        );
        assert_eq!(
            Limits::new(1, 2, 16).map(|_| ()),
            Err(InvalidLimit {
                name: "max_body_bytes",
                minimum: 17,
                value: 16
            })
        );
        assert_eq!(
            Limits::new(0, 0, 0).map(|_| ()).unwrap_err().name,
            "max_contacts"
        );
    }
}
