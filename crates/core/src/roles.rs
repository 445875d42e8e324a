/// Declares a closed set of names stored and exchanged as text (the names given), with
/// `ALL`, `as_str`, `parse`, `names` and `Display`. The calling crate needs `serde`.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name { $($(#[$vmeta])* #[serde(rename = $text)] $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and exchanged name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses a stored or exchanged name.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// Every name, for error messages.
            pub fn names() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// What a person may do; operator roles belong to the operator's staff only.
    Role {
        /// The operator's administrators: organisations, operator staff, configuration.
        DccAdmin => "dcc_admin",
        /// Service-desk managers: everything agents do, plus overrides and reports.
        ServiceDeskManager => "service_desk_manager",
        /// Service-desk agents: triage, assign, work and resolve across all organisations.
        ServiceDeskAgent => "service_desk_agent",
        /// An organisation's administrator: its people and API tokens.
        OrgAdmin => "org_admin",
        /// An organisation's user: raises and follows its incidents and requests.
        OrgUser => "org_user",
        /// Read-only access to an organisation's reports and diagnostics.
        OrgReporter => "org_reporter",
    }
}

impl Role {
    /// True for roles held only by the operator's staff.
    pub fn is_operator_role(self) -> bool {
        matches!(
            self,
            Self::DccAdmin | Self::ServiceDeskManager | Self::ServiceDeskAgent
        )
    }
}

text_enum! {
    /// The SEC user roles an organisation holds (the SEC's codes in brackets).
    SecRole {
        /// Import supplier (IS).
        ImportSupplier => "import_supplier",
        /// Export supplier (ES).
        ExportSupplier => "export_supplier",
        /// Gas supplier (GS).
        GasSupplier => "gas_supplier",
        /// Electricity distributor, a network operator (ED).
        ElectricityDistributor => "electricity_distributor",
        /// Gas transporter, a network operator (GT).
        GasTransporter => "gas_transporter",
        /// Registered supplier agent (RSA).
        RegisteredSupplierAgent => "registered_supplier_agent",
        /// Other user (OU).
        OtherUser => "other_user",
    }
}

text_enum! {
    /// Whether an organisation is the operator or a user of the network.
    OrganisationKind {
        /// The operator (DCC) that runs the network and this service desk.
        Operator => "operator",
        /// An organisation that uses the network's services.
        User => "user",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(*role));
        }
        for role in SecRole::ALL {
            assert_eq!(SecRole::parse(role.as_str()), Some(*role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn only_staff_roles_are_operator_roles() {
        let operator: Vec<_> = Role::ALL.iter().filter(|r| r.is_operator_role()).collect();
        assert_eq!(
            operator,
            [
                &Role::DccAdmin,
                &Role::ServiceDeskManager,
                &Role::ServiceDeskAgent
            ]
        );
    }
}
