/**
 * The one MedplumClient of the app (same origin as the server) and a React context that
 * re-renders its users when the sign-in state changes (sign-in, switch, sign-out).
 */
import { MedplumClient } from '@medplum/core';
import type { ProfileResource } from '@medplum/core';
import type { Project, ProjectMembership } from '@medplum/fhirtypes';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';

export function createAppClient(): MedplumClient {
  return new MedplumClient({ baseUrl: window.location.origin + '/', onUnauthenticated: () => undefined });
}

export interface SignInState {
  medplum: MedplumClient;
  /** Whether the client has a usable sign-in (an access token or a refresh token). */
  signedIn: boolean;
  /** The client is still reading the stored sign-in (`auth/me`) after a page load. */
  loading: boolean;
  profile?: ProfileResource;
  project?: Project;
  membership?: ProjectMembership;
  /** The sign-in ended without the user signing out (revoked, membership removed, expired). */
  sessionEnded: boolean;
  /** Signs out on the server and here. */
  signOut: () => Promise<void>;
}

const MedplumContext = createContext<SignInState | undefined>(undefined);

function snapshot(medplum: MedplumClient): Omit<SignInState, 'medplum' | 'sessionEnded' | 'signOut'> {
  return {
    signedIn: !!medplum.getActiveLogin() && !!medplum.getProfile(),
    loading: medplum.isLoading(),
    profile: medplum.getProfile(),
    project: medplum.getProject(),
    membership: medplum.getProjectMembership(),
  };
}

export function MedplumProvider({ medplum, children }: { medplum: MedplumClient; children: ReactNode }) {
  const [state, setState] = useState(() => snapshot(medplum));
  const [sessionEnded, setSessionEnded] = useState(false);
  const signingOut = useRef(false);
  const wasSignedIn = useRef(state.signedIn);
  useEffect(() => {
    const update = (): void => {
      const next = snapshot(medplum);
      if (wasSignedIn.current && !next.signedIn && !signingOut.current) setSessionEnded(true);
      if (next.signedIn) setSessionEnded(false);
      wasSignedIn.current = next.signedIn;
      setState(next);
    };
    medplum.addEventListener('change', update);
    medplum.getProfileAsync().then(update, update);
    return () => medplum.removeEventListener('change', update);
  }, [medplum]);
  const signOut = useCallback(async () => {
    signingOut.current = true;
    try {
      await medplum.signOut().catch(() => undefined);
    } finally {
      signingOut.current = false;
      setSessionEnded(false);
      const next = snapshot(medplum);
      wasSignedIn.current = next.signedIn;
      setState(next);
    }
  }, [medplum]);
  const value = useMemo(() => ({ medplum, ...state, sessionEnded, signOut }), [medplum, state, sessionEnded, signOut]);
  return <MedplumContext.Provider value={value}>{children}</MedplumContext.Provider>;
}

export function useSignIn(): SignInState {
  const value = useContext(MedplumContext);
  if (!value) throw new Error('useSignIn outside MedplumProvider');
  return value;
}

export function useMedplum(): MedplumClient {
  return useSignIn().medplum;
}
