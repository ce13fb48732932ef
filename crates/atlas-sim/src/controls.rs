//! The test controls that change a running simulator's invitations, one invitation or the churn clock
//! at a time; each takes effect from the next request.

use jiff::Timestamp;

use crate::Simulator;
use crate::world::{SimInvitation, SimTime};

impl Simulator {
    /// Adds an invitation to an org's declared ones (an unknown org is created, named after its id),
    /// as if just sent; one with the same id is replaced where it stands, so a test can re-send it.
    pub fn add_invitation(&self, org_id: &str, invitation: SimInvitation) {
        let mut state = self.shared.lock();
        let invitations = &mut state.org_mut(org_id).declared.invitations;
        match invitations
            .iter_mut()
            .find(|listed| listed.id == invitation.id)
        {
            Some(listed) => *listed = invitation,
            None => invitations.push(invitation),
        }
    }

    /// Removes a declared invitation, as Atlas does once it is accepted or revoked (the two look
    /// alike on the wire). False when the org or the id is unknown; churned invitations are not
    /// declared, so never removed here.
    pub fn remove_invitation(&self, org_id: &str, invitation_id: &str) -> bool {
        let mut state = self.shared.lock();
        let Some(org) = state.orgs.get_mut(org_id) else {
            return false;
        };
        let invitations = &mut org.declared.invitations;
        let before = invitations.len();
        invitations.retain(|invitation| invitation.id != invitation_id);
        invitations.len() != before
    }

    /// Changes a declared invitation in place (dates, roles, inviter, even its id). False, with
    /// `update` not called, when the org or the id is unknown.
    pub fn update_invitation(
        &self,
        org_id: &str,
        invitation_id: &str,
        update: impl FnOnce(&mut SimInvitation),
    ) -> bool {
        let mut state = self.shared.lock();
        let found = state.orgs.get_mut(org_id).and_then(|org| {
            org.declared
                .invitations
                .iter_mut()
                .find(|invitation| invitation.id == invitation_id)
        });
        match found {
            Some(invitation) => {
                update(invitation);
                true
            }
            None => false,
        }
    }

    /// Moves a declared invitation's `expiresAt` (e.g. `SimTime::FromNow(-1)` to expire it while it
    /// stays listed); [`Simulator::update_invitation`] for anything else. False when unknown.
    pub fn set_invitation_expiry(
        &self,
        org_id: &str,
        invitation_id: &str,
        expires: SimTime,
    ) -> bool {
        self.update_invitation(org_id, invitation_id, |invitation| {
            invitation.expires = expires;
        })
    }

    /// The instant every [`crate::Churn`] schedule counts from: when the simulator started, unless
    /// [`Simulator::set_churn_start`] moved it.
    pub fn churn_start(&self) -> Timestamp {
        self.shared.lock().churn_start
    }

    /// Moves the instant churn counts from, so a test sees any point of a schedule at once (a start
    /// 61 s ago puts a 4-minute churn just past its first expiry) instead of sleeping until it.
    pub fn set_churn_start(&self, start: Timestamp) {
        self.shared.lock().churn_start = start;
    }
}
