import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { renderInApp } from '../../test/render';
import type { MemberSummary } from './admin-api';
import { MembersTable } from './MembersTable';

function member(overrides: Partial<MemberSummary>): MemberSummary {
  return {
    id: 'm1',
    membership: { resourceType: 'ProjectMembership', project: { reference: 'Project/p' }, user: { reference: 'User/u' }, profile: { reference: 'Practitioner/a' } },
    profile: { reference: 'Practitioner/a', display: 'Alice Smith' },
    email: 'alice@example.com',
    admin: false,
    accessPolicy: [],
    active: true,
    inviteState: 'accepted',
    removed: false,
    owner: false,
    ...overrides,
  };
}

describe('MembersTable', () => {
  it('shows a loading state, then an empty state in words', () => {
    const { rerender } = renderInApp(<MembersTable members={undefined} loading caption="Users" emptyText="No users yet." />);
    expect(screen.getByLabelText('Loading users')).toBeTruthy();
    rerender(<MembersTable members={[]} loading={false} caption="Users" emptyText="No users yet." />);
    expect(screen.getByRole('status').textContent).toBe('No users yet.');
  });

  it('lists each member with a link to its page, email, role, policy, admin flag and state', () => {
    renderInApp(
      <MembersTable
        caption="Users"
        emptyText=""
        loading={false}
        members={[
          member({ admin: true, owner: true }),
          member({ id: 'm2', profile: { reference: 'RelatedPerson/b', display: 'Bob Jones' }, email: 'bob@example.com', inviteState: 'pending', accessPolicy: [{ reference: 'AccessPolicy/x', display: 'Family' }] }),
          member({ id: 'm3', profile: { reference: 'Practitioner/c', display: 'Carol <b>Old</b>' }, removed: true }),
        ]}
      />,
    );
    const rows = within(screen.getByRole('table', { name: 'Users' })).getAllByRole('row');
    expect(rows).toHaveLength(4);
    expect(within(rows[1]!).getByRole('link', { name: 'Alice Smith' }).getAttribute('href')).toBe('/admin/members/m1');
    expect(rows[1]!.textContent).toMatch(/Owner.*alice@example\.com.*Practitioner.*Yes.*Active/);
    expect(rows[2]!.textContent).toMatch(/bob@example\.com.*RelatedPerson.*Family.*No.*Invited/);
    // Names are shown as text, never as markup.
    expect(within(rows[3]!).getByRole('link', { name: 'Carol <b>Old</b>' }).getAttribute('href')).toBe('/admin/members/m3?removed=true');
    expect(rows[3]!.querySelector('b')).toBeNull();
    expect(rows[3]!.textContent).toContain('Removed');
  });
});
