/** Providers and routes of the web app. */
import '@mantine/core/styles.css';
import type { MedplumClient } from '@medplum/core';
import { MantineProvider, createTheme } from '@mantine/core';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { BrowserRouter, Navigate, Route, Routes } from 'react-router';
import { AccountPage } from './account/AccountPage';
import { ChangePasswordPage } from './account/ChangePasswordPage';
import { OAuthPage } from './account/OAuthPage';
import { RegisterPage } from './account/RegisterPage';
import { ResetPasswordPage } from './account/ResetPasswordPage';
import { SetPasswordPage } from './account/SetPasswordPage';
import { SignInPage } from './account/SignInPage';
import { AccessPolicyPage } from './admin/AccessPolicyPage';
import { InvitePage } from './admin/InvitePage';
import { MemberPage } from './admin/MemberPage';
import { ProjectPage } from './admin/ProjectPage';
import { AppLayout } from './components/AppLayout';
import { RequireSignIn } from './components/RequireSignIn';
import { MedplumProvider, useSignIn } from './medplum-context';
import { ResourceListPage } from './resources/ResourceListPage';
import { PERSON_TYPES } from './resources/person-fields';
import { ResourcePage } from './resources/ResourcePage';

const theme = createTheme({
  // System fonts only: nothing is fetched from the network.
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
  primaryColor: 'blue',
});

function Home() {
  const { signedIn, loading, membership } = useSignIn();
  if (loading) return null;
  if (!signedIn) return <Navigate to="/signin" replace />;
  return <Navigate to={membership?.admin ? '/admin/project' : '/account'} replace />;
}

const signedIn = (page: ReactNode) => <RequireSignIn>{page}</RequireSignIn>;
const admin = (page: ReactNode) => <RequireSignIn admin>{page}</RequireSignIn>;

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/" element={<Home />} />
      <Route path="/signin" element={<SignInPage />} />
      <Route path="/oauth" element={<OAuthPage />} />
      <Route path="/register" element={<RegisterPage />} />
      <Route path="/resetpassword" element={<ResetPasswordPage />} />
      <Route path="/setpassword/:id/:secret" element={<SetPasswordPage />} />
      <Route path="/changepassword" element={signedIn(<ChangePasswordPage />)} />
      <Route path="/account" element={signedIn(<AccountPage />)} />
      <Route path="/admin/invite" element={admin(<InvitePage />)} />
      <Route path="/admin/members/:id" element={admin(<MemberPage />)} />
      <Route path="/admin/policies/:id" element={admin(<AccessPolicyPage />)} />
      <Route path="/admin/:tab" element={admin(<ProjectPage />)} />
      {PERSON_TYPES.map((type) => (
        <Route key={type} path={`/${type}`} element={signedIn(<ResourceListPage key={type} resourceType={type} />)} />
      ))}
      <Route path="/:resourceType/:id" element={signedIn(<ResourcePage />)} />
      <Route path="*" element={<Navigate to="/" replace />} />
    </Routes>
  );
}

export function App({ medplum }: { medplum: MedplumClient }) {
  const [queryClient] = useState(() => new QueryClient({ defaultOptions: { queries: { staleTime: 10_000, refetchOnWindowFocus: false } } }));
  return (
    <MantineProvider theme={theme}>
      <QueryClientProvider client={queryClient}>
        <MedplumProvider medplum={medplum}>
          <BrowserRouter>
            <AppLayout>
              <AppRoutes />
            </AppLayout>
          </BrowserRouter>
        </MedplumProvider>
      </QueryClientProvider>
    </MantineProvider>
  );
}
