/**
 * Whether an invited member has taken up the invite, as the member list shows it: `pending`
 * while the membership's User cannot sign in yet (no password set and no external identity to
 * sign in with), `accepted` after. Programmatic members (ClientApplication, Bot) have no invite
 * to take up, so they count as accepted. Shared with the invite endpoint (resend-invite).
 */
import type { ProjectMembership, User } from '@medplum/fhirtypes';

export type InviteState = 'pending' | 'accepted';

/**
 * `user` is the membership's User, or undefined when the membership's account is not a User
 * (or no longer exists, which leaves nothing to wait for either).
 */
export function inviteStateOf(membership: Pick<ProjectMembership, 'user' | 'externalId'>, user: Pick<User, 'passwordHash' | 'externalId'> | undefined): InviteState {
  if (!membership.user?.reference?.startsWith('User/') || !user) {
    return 'accepted';
  }
  // An external identity (an IdP subject on the membership, or the older one on the User) signs
  // in without a password of ours.
  const external = Boolean(membership.externalId) || Boolean(user.externalId);
  return user.passwordHash || external ? 'accepted' : 'pending';
}
