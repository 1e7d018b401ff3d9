/** Words for a member's state, the same in the tables and on the member page. */
import type { MemberSummary } from './admin-api';

export function memberStatus(member: Pick<MemberSummary, 'removed' | 'active' | 'inviteState'>): { label: string; color: string } {
  if (member.removed) return { label: 'Removed', color: 'gray' };
  if (!member.active) return { label: 'Inactive', color: 'orange' };
  if (member.inviteState === 'pending') return { label: 'Invited', color: 'yellow' };
  return { label: 'Active', color: 'green' };
}

export function profileName(member: Pick<MemberSummary, 'profile'>): string {
  return member.profile.display || member.profile.reference || 'Unnamed';
}
