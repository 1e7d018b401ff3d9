/** Shows its page to a signed-in user; sends anyone else to the sign-in page, and back after. */
import { Center, Loader } from '@mantine/core';
import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { useSignIn } from '../medplum-context';

export function RequireSignIn({ children, admin = false }: { children: ReactNode; admin?: boolean }) {
  const { signedIn, loading, membership } = useSignIn();
  const location = useLocation();
  if (loading) {
    return (
      <Center p="xl">
        <Loader aria-label="Loading" />
      </Center>
    );
  }
  if (!signedIn) {
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/signin?next=${next}`} replace />;
  }
  if (admin && !membership?.admin) {
    return <Navigate to="/account" replace />;
  }
  return <>{children}</>;
}
