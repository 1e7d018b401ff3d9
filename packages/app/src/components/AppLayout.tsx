/** The frame of every page: the header with the main links and the account menu. */
import { Anchor, AppShell, Burger, Button, Group, Stack, Text } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useEffect, type ReactNode } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { useSignIn } from '../medplum-context';

function displayName(profile: ReturnType<typeof useSignIn>['profile']): string {
  const name = profile && 'name' in profile ? profile.name?.[0] : undefined;
  return [name?.given?.join(' '), name?.family].filter(Boolean).join(' ') || 'Signed in';
}

export function AppLayout({ children }: { children: ReactNode }) {
  const { signedIn, profile, project, membership, signOut: endSession } = useSignIn();
  const [opened, { toggle, close }] = useDisclosure(false);
  const navigate = useNavigate();
  const location = useLocation();
  useEffect(close, [location.pathname, close]);

  async function signOut(): Promise<void> {
    await endSession();
    navigate('/signin');
  }

  const links = signedIn ? (
    <>
      {membership?.admin && (
        <>
          <Anchor component={Link} to="/admin/project">
            Project
          </Anchor>
          <Anchor component={Link} to="/admin/users">
            Users
          </Anchor>
          <Anchor component={Link} to="/admin/invite">
            Invite
          </Anchor>
        </>
      )}
      <Anchor component={Link} to="/Patient">
        Patients
      </Anchor>
      <Anchor component={Link} to="/Practitioner">
        Practitioners
      </Anchor>
      <Anchor component={Link} to="/account">
        Account
      </Anchor>
      <Button variant="subtle" size="compact-sm" onClick={signOut}>
        Sign out
      </Button>
    </>
  ) : (
    <>
      <Anchor component={Link} to="/signin">
        Sign in
      </Anchor>
      <Anchor component={Link} to="/register">
        Register
      </Anchor>
    </>
  );

  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 240, breakpoint: 'sm', collapsed: { desktop: true, mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Anchor component={Link} to="/" fw={700} size="lg" underline="never">
              Tessera
            </Anchor>
            {signedIn && (
              <Text size="sm" c="dimmed" visibleFrom="sm" truncate>
                {project?.name} · {displayName(profile)}
              </Text>
            )}
          </Group>
          <Group gap="md" visibleFrom="sm" component="nav" aria-label="Main">
            {links}
          </Group>
          <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={opened ? 'Close menu' : 'Open menu'} />
        </Group>
      </AppShell.Header>
      {/* Only in the document while open: a collapsed menu would be read out twice beside the header's links. */}
      {opened && (
        <AppShell.Navbar p="md" component="nav" aria-label="Menu">
          <Stack>{links}</Stack>
        </AppShell.Navbar>
      )}
      <AppShell.Main>
        <div style={{ maxWidth: 1100, margin: '0 auto' }}>{children}</div>
      </AppShell.Main>
    </AppShell>
  );
}
