//! The system messages of the reference's "System Messages" section, in their documented
//! `%SMART_LIC-<severity>-<MNEMONIC>: text` form.

/// One system message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    PolicyInstallFailed { reason: &'a str },
    AuthorizationInstallFailed { udi: &'a str, reason: &'a str },
    CommFailed { peer: &'a str, reason: &'a str },
    CommRestored { peer: &'a str },
    PolicyRemoved,
    TrustCodeInstallFailed { udi: &'a str, reason: &'a str },
    ReportingNotSupported,
    PolicyInstallSuccess,
    AuthorizationInstallSuccess { udi: &'a str },
    AuthorizationRemoved { udi: &'a str },
    ReportingRequired { days: i64 },
    TrustCodeInstallSuccess { udi: &'a str },
}

impl Message<'_> {
    /// The message exactly as the device logs it.
    pub fn text(&self) -> String {
        match self {
            Message::PolicyInstallFailed { reason } => {
                format!("%SMART_LIC-3-POLICY_INSTALL_FAILED: The installation of a new licensing policy has failed: {reason}.")
            }
            Message::AuthorizationInstallFailed { udi, reason } => format!(
                "%SMART_LIC-3-AUTHORIZATION_INSTALL_FAILED: The install of a new licensing authorization code has failed on {udi}: {reason}."
            ),
            Message::CommFailed { peer, reason } => {
                format!("%SMART_LIC-3-COMM_FAILED: Communications failure with the {peer} : {reason}")
            }
            Message::CommRestored { peer } => format!("%SMART_LIC-3-COMM_RESTORED: Communications with the {peer} restored."),
            Message::PolicyRemoved => "%SMART_LIC-3-POLICY_REMOVED: The licensing policy has been removed.".to_owned(),
            Message::TrustCodeInstallFailed { udi, reason } => format!(
                "%SMART_LIC-3-TRUST_CODE_INSTALL_FAILED: The install of a new licensing trust code has failed on {udi}: {reason}."
            ),
            Message::ReportingNotSupported => "%SMART_LIC-4-REPORTING_NOT_SUPPORTED: The CSSM OnPrem that this product instance is connected to is down rev and does not support the enhanced policy and usage reporting mode.".to_owned(),
            Message::PolicyInstallSuccess => {
                "%SMART_LIC-6-POLICY_INSTALL_SUCCESS: A new licensing policy was successfully installed.".to_owned()
            }
            Message::AuthorizationInstallSuccess { udi } => format!(
                "%SMART_LIC-6-AUTHORIZATION_INSTALL_SUCCESS: A new licensing authorization code was successfully installed on: {udi}."
            ),
            Message::AuthorizationRemoved { udi } => {
                format!("%SMART_LIC-6-AUTHORIZATION_REMOVED: A licensing authorization code has been removed from {udi}")
            }
            Message::ReportingRequired { days } => {
                format!("%SMART_LIC-6-REPORTING_REQUIRED: A Usage report acknowledgement will be required in {days} days.")
            }
            Message::TrustCodeInstallSuccess { udi } => format!(
                "%SMART_LIC-6-TRUST_CODE_INSTALL_SUCCESS: A new licensing trust code was successfully installed on {udi}."
            ),
        }
    }
}
