//! Who makes a change, for the activity log ("who and when").
//!
//! Every event the authority logs carries an actor. The authority has a default (`system`
//! for a server, `cli:<user>` for the local command line, set by [`Authority::with_actor`]);
//! work run inside [`acting_as`] is logged under that actor instead. The API runs each
//! request authenticated by an access token as `api:<client name> (<client id>)` (a user's
//! token as `api:<user> via <client name> (<client id>)`), and the
//! device endpoint as `device`. A task-local rather than a parameter on every mutating
//! method, so that the one code path serves the CLI, the API and the scheduler alike.
//!
//! [`Authority::with_actor`]: crate::Authority::with_actor

use std::future::Future;

use crate::domain::principal::Principal;

tokio::task_local! {
    static ACTOR: String;
}

/// Runs `work` with every event it logs attributed to `actor`.
pub async fn acting_as<F: Future>(actor: String, work: F) -> F::Output {
    ACTOR.scope(actor, work).await
}

/// The actor of the work in progress, if one was set with [`acting_as`].
pub(crate) fn current() -> Option<String> {
    ACTOR.try_with(Clone::clone).ok()
}

/// The actor an API client's requests are logged under.
pub fn api_client(principal: &Principal) -> String {
    match &principal.user {
        Some(user) => format!("api:{user} via {} ({})", principal.name, principal.client_id),
        None => format!("api:{} ({})", principal.name, principal.client_id),
    }
}

/// The local command-line operator: `cli:<login name>` (`cli:operator` when the environment
/// names no user).
pub fn cli_operator() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "operator".to_owned());
    format!("cli:{}", user.trim())
}
