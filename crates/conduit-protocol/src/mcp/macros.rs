//! Declarative helpers that keep the wire types uniform.
//!
//! * `wire_struct!` — a `#[non_exhaustive]` serde struct with explicit wire names, required
//!   members first, optional members (`Option`, omitted when `None`), and a flattened `extra` map
//!   that keeps every member this crate does not model. It also generates `new(required…)`, one
//!   chainable setter per optional member (named after the member) and `with_extra`.
//! * `string_enum!` — a string enum with known values plus `Other(String)`, so an unknown value
//!   round-trips instead of failing the whole message.
//! * `tagged_enum!` — an enum over object shapes chosen by a tag member (e.g. `type`), with an
//!   `Unknown` variant holding the raw object when the tag is not recognised.

macro_rules! wire_struct {
    (
        $(#[$attr:meta])*
        pub struct $name:ident {
            $(
                $(#[$rattr:meta])*
                req $rfield:ident : $rty:ty = $rwire:literal
            ),* $(,)?
            ;
            $(
                $(#[$oattr:meta])*
                opt $ofield:ident : $oty:ty = $owire:literal
            ),* $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Clone, Debug, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$rattr])*
                #[serde(rename = $rwire)]
                pub $rfield: $rty,
            )*
            $(
                $(#[$oattr])*
                #[serde(rename = $owire, default, skip_serializing_if = "Option::is_none")]
                pub $ofield: Option<$oty>,
            )*
            /// Members this crate does not model, kept verbatim so that a round trip loses nothing.
            #[serde(flatten)]
            pub extra: $crate::mcp::JsonObject,
        }

        impl $name {
            /// Creates a value with the required members set and every optional member absent.
            #[allow(clippy::new_without_default)]
            pub fn new($($rfield: impl Into<$rty>),*) -> Self {
                $name {
                    $($rfield: $rfield.into(),)*
                    $($ofield: None,)*
                    extra: $crate::mcp::JsonObject::new(),
                }
            }

            $(
                #[doc = concat!("Sets `", $owire, "` (builder style).")]
                #[must_use]
                pub fn $ofield(mut self, value: impl Into<$oty>) -> Self {
                    self.$ofield = Some(value.into());
                    self
                }
            )*

            /// Adds or replaces a member this crate does not model (builder style).
            #[must_use]
            pub fn with_extra(
                mut self,
                key: impl Into<String>,
                value: impl Into<::serde_json::Value>,
            ) -> Self {
                self.extra.insert(key.into(), value.into());
                self
            }
        }
    };
}

macro_rules! string_enum {
    (
        $(#[$attr:meta])*
        pub enum $name:ident {
            $( $(#[$vattr:meta])* $variant:ident = $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vattr])* $variant, )+
            /// A value this crate does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Other(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $( $wire => $name::$variant, )+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $( $wire => $name::$variant, )+
                    _ => $name::Other(s),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map($name::from)
            }
        }
    };
}

macro_rules! tagged_enum {
    (
        $(#[$attr:meta])*
        pub enum $name:ident tag $tag:literal {
            $( $(#[$vattr:meta])* $variant:ident($ty:ty) = $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vattr])* $variant($ty), )+
            #[doc = concat!("An object whose `", $tag, "` this crate does not know (or that has none), kept verbatim, tag included.")]
            Unknown($crate::mcp::JsonObject),
        }

        impl $name {
            #[doc = concat!("The `", $tag, "` member as it appears on the wire (empty if absent).")]
            pub fn tag(&self) -> &str {
                match self {
                    $( $name::$variant(_) => $wire, )+
                    $name::Unknown(m) => m.get($tag).and_then(::serde_json::Value::as_str).unwrap_or(""),
                }
            }
        }

        $(
            impl From<$ty> for $name {
                fn from(v: $ty) -> Self {
                    $name::$variant(v)
                }
            }
        )+

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( $name::$variant(v) => $crate::mcp::common::serialize_tagged($tag, $wire, v, s), )+
                    $name::Unknown(m) => ::serde::Serialize::serialize(m, s),
                }
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use ::serde::de::Error as _;
                let mut m = <$crate::mcp::JsonObject as ::serde::Deserialize>::deserialize(d)?;
                let tag = m.get($tag).and_then(::serde_json::Value::as_str).map(str::to_owned);
                match tag.as_deref() {
                    $(
                        Some($wire) => {
                            m.shift_remove($tag);
                            ::serde_json::from_value(::serde_json::Value::Object(m))
                                .map($name::$variant)
                                .map_err(|e| D::Error::custom(format!("{} `{}`: {e}", $tag, $wire)))
                        }
                    )+
                    _ => Ok($name::Unknown(m)),
                }
            }
        }
    };
}
