//! The macro behind every table of names and messages (the codes of SPEC §3 and §4, the fields
//! of §4 rule 7): one row per variant gives its wire name and its message, and the enum,
//! `ALL`, `as_str()` and the message template follow from the rows.

/// `code_table! { /// doc  pub enum Name { /// doc  Variant => "wire", "message"; … } }`: the
/// enum (with `Debug, Clone, Copy, PartialEq, Eq, Hash`), `Name::ALL` in row order, the const
/// `as_str()` and the private `template()` (the message, `{limit}`, `{field}` or
/// `{disposition}` standing for what the caller fills in).
macro_rules! code_table {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[doc = $doc:literal])+ $variant:ident => $wire:literal, $message:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[doc = $doc])+ $variant, )+
        }

        impl $name {
            /// Every variant, in the SPEC's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The machine-readable code, as sent on the wire.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $wire, )+ }
            }

            /// The message, with what it names left as `{…}`.
            const fn template(self) -> &'static str {
                match self { $( $name::$variant => $message, )+ }
            }
        }
    };
}

pub(crate) use code_table;
