//! The key that signs a run's unsubscribe and preference links: `PAPERWIRE_SECRET`, or for the
//! outbox and dry runs a throwaway one. Links signed with a throwaway key will never work, so
//! the first message signed with it says so once — and a run that renders no message (nothing
//! left to send) stays quiet.

use std::sync::{Arc, Once};

use secrecy::{ExposeSecret, SecretSlice};

use crate::bounce::verp::{VerpError, VerpKey};
use crate::subscribers::{SubscriberEmail, links, token};

/// Signs unsubscribe and preference tokens; cheap to clone (the workers share one).
#[derive(Debug, Clone)]
pub struct SigningKey {
    secret: Arc<SecretSlice<u8>>,
    /// Derived from `secret` once.
    preferences: Arc<links::PreferenceKey>,
    /// For a throwaway key: the once-per-run warning.
    throwaway: Option<Arc<Once>>,
}

impl SigningKey {
    /// The configured secret.
    pub fn configured(secret: SecretSlice<u8>) -> Self {
        Self {
            preferences: Arc::new(links::PreferenceKey::new(secret.expose_secret())),
            secret: Arc::new(secret),
            throwaway: None,
        }
    }

    /// A random key that nothing can verify later.
    pub fn throwaway() -> Self {
        Self {
            throwaway: Some(Arc::new(Once::new())),
            ..Self::configured(SecretSlice::from(rand::random::<[u8; 32]>().to_vec()))
        }
    }

    pub fn is_throwaway(&self) -> bool {
        self.throwaway.is_some()
    }

    /// The key that tags envelope senders (`bounce.verp`), derived from the same secret for
    /// that purpose only.
    pub fn verp_key(
        &self,
        list_id: &str,
        return_path: &lettre::Address,
    ) -> Result<VerpKey, VerpError> {
        VerpKey::new(self.secret.expose_secret(), list_id, return_path)
    }

    /// The unsubscribe URL for `email`; the first one signed with a throwaway key warns.
    pub fn unsubscribe_url(
        &self,
        base_url: &str,
        list_id: &str,
        email: &SubscriberEmail,
    ) -> String {
        if let Some(once) = &self.throwaway {
            once.call_once(|| {
                tracing::warn!(
                    "PAPERWIRE_SECRET is not set: unsubscribe links use a throwaway key and will not work"
                );
            });
        }
        let token = token::sign(self.secret.expose_secret(), list_id, email);
        token::unsubscribe_url(base_url, &token)
    }

    /// The preference-page URL for `email` ("Manage your subscription"), signed for that page
    /// only (see [`links`]).
    pub fn preferences_url(
        &self,
        base_url: &str,
        list_id: &str,
        email: &SubscriberEmail,
    ) -> String {
        links::preferences_url(base_url, &self.preferences.sign(list_id, email))
    }
}
