use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{FileTransport, SmtpTransport, Transport};
use secrecy::ExposeSecret;

use crate::error::NotifyError;
use crate::message::EmailMessage;
use crate::settings::{EmailSettings, EmailTransport, SmtpSettings, SmtpTls};

/// Sends [`EmailMessage`]s through the configured transport, blocking the calling thread.
#[derive(Debug)]
pub struct Mailer {
    from: Mailbox,
    delivery: Delivery,
}

#[derive(Debug)]
enum Delivery {
    File(FileTransport),
    Smtp(SmtpTransport),
}

impl Mailer {
    /// Checks the settings and prepares the transport; creates the file directory if needed.
    ///
    /// No connection is opened here, so an SMTP server that is down at start-up only delays
    /// delivery instead of stopping the server.
    pub fn new(settings: &EmailSettings) -> Result<Self, NotifyError> {
        let from =
            settings
                .from
                .parse::<Mailbox>()
                .map_err(|source| NotifyError::InvalidSender {
                    from: settings.from.clone(),
                    source,
                })?;
        let delivery = match &settings.transport {
            EmailTransport::File { dir } => {
                std::fs::create_dir_all(dir).map_err(|source| NotifyError::MailDirectory {
                    dir: dir.clone(),
                    source,
                })?;
                Delivery::File(FileTransport::new(dir))
            }
            EmailTransport::Smtp(smtp) => Delivery::Smtp(smtp_transport(smtp)?),
        };
        Ok(Self { from, delivery })
    }

    /// Sends one message: opens a connection (or writes a file), hands the message over and
    /// returns once the server has accepted it.
    pub fn send(&self, message: &EmailMessage) -> Result<(), NotifyError> {
        let email = message.to_lettre(&self.from)?;
        match &self.delivery {
            Delivery::File(transport) => {
                transport.send(&email).map(drop).map_err(NotifyError::File)
            }
            Delivery::Smtp(transport) => {
                transport.send(&email).map(drop).map_err(NotifyError::Smtp)
            }
        }
    }
}

fn smtp_transport(settings: &SmtpSettings) -> Result<SmtpTransport, NotifyError> {
    let setup = |source| NotifyError::SmtpSetup {
        host: settings.host.clone(),
        source,
    };
    let builder = match settings.tls {
        SmtpTls::None => SmtpTransport::builder_dangerous(settings.host.as_str()),
        SmtpTls::StartTls => SmtpTransport::starttls_relay(&settings.host).map_err(setup)?,
        SmtpTls::Tls => SmtpTransport::relay(&settings.host).map_err(setup)?,
    };
    let mut builder = builder.port(settings.port).timeout(Some(settings.timeout));
    if let Some(username) = &settings.username {
        let password = settings
            .password
            .as_ref()
            .map(|p| p.expose_secret().to_owned())
            .unwrap_or_default();
        builder = builder.credentials(Credentials::new(username.clone(), password));
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn smtp(tls: SmtpTls) -> EmailSettings {
        EmailSettings {
            from: "dsms <no-reply@dsms.localhost>".into(),
            transport: EmailTransport::Smtp(SmtpSettings {
                host: "smtp.example.com".into(),
                port: 2525,
                tls,
                username: Some("dsms".into()),
                password: Some("hunter2".to_owned().into()),
                timeout: Duration::from_secs(5),
            }),
        }
    }

    #[test]
    fn builds_for_every_tls_mode_without_connecting() {
        for tls in [SmtpTls::None, SmtpTls::StartTls, SmtpTls::Tls] {
            Mailer::new(&smtp(tls)).expect("builds");
        }
    }

    #[test]
    fn an_invalid_sender_is_refused_up_front() {
        let mut settings = smtp(SmtpTls::None);
        settings.from = "not a mailbox".into();
        let error = Mailer::new(&settings).unwrap_err();
        assert!(
            matches!(error, NotifyError::InvalidSender { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn the_password_never_appears_in_debug_output() {
        let settings = smtp(SmtpTls::StartTls);
        let mailer = Mailer::new(&settings).expect("builds");
        assert!(!format!("{settings:?}").contains("hunter2"));
        assert!(!format!("{mailer:?}").contains("hunter2"));
    }
}
