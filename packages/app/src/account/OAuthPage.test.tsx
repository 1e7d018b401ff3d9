import { MantineProvider } from '@mantine/core';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router';
import { describe, expect, it, vi } from 'vitest';
import { renderInApp } from '../../test/render';
import { OAuthDenyButton, OAuthRequestSummary, OAuthSignInForm } from './OAuthPage';
import { describeScopes, emailFromLoginHint, responseUrl, type ClientInfo } from './oauth-request';

const INFO: ClientInfo = {
  client_id: 'c-1',
  client_name: 'Chart Viewer',
  redirect_uri: 'https://chart.example/callback?tenant=7',
  scope: 'openid fhirUser patient/Observation.rs user/*.read offline_access',
  issuer: 'https://tessera.example/',
};

const NO_ERRORS = { fields: {}, general: [] };

/** The page's sign-in form at this URL, as the router gives it. */
function renderSignInAt(url: string, onSubmit: (values: { email: string; password: string }) => void = () => undefined) {
  return render(
    <MantineProvider env="test">
      <MemoryRouter initialEntries={[url]}>
        <OAuthSignInForm onSubmit={onSubmit} errors={NO_ERRORS} busy={false} />
      </MemoryRouter>
    </MantineProvider>,
  );
}

describe('the /oauth page', () => {
  it('says in plain words what each scope lets the application do', () => {
    expect(describeScopes('openid openid email user/Patient.cruds system/*.write launch/patient')).toEqual([
      'Confirm who you are',
      'See your email address',
      'Create, read, update, delete and search Patient records that your account can access',
      'Create, update and delete all kinds of records in the whole project',
      'Ask you which patient to work with',
    ]);
  });

  it('shows which application asks, for what, and where the user will return', () => {
    renderInApp(<OAuthRequestSummary info={INFO} />);
    expect(screen.getByText('Chart Viewer')).toBeTruthy();
    const list = screen.getByRole('list', { name: 'What the application asks for' });
    expect([...list.querySelectorAll('li')].map((li) => li.textContent)).toEqual([
      'Confirm who you are',
      'See which profile record is yours',
      'Read and search Observation records about the selected patient',
      'Read and search all kinds of records that your account can access',
      'Stay signed in after you leave it (it gets a refresh token)',
    ]);
    expect(screen.getByText(/You will return to chart\.example/)).toBeTruthy();
  });

  it('sends the code back with state and iss, keeping the redirect URI\'s own query', () => {
    const url = new URL(responseUrl(INFO, 'st 1', { code: 'abc' }));
    expect(`${url.origin}${url.pathname}`).toBe('https://chart.example/callback');
    expect(Object.fromEntries(url.searchParams)).toEqual({ tenant: '7', code: 'abc', state: 'st 1', iss: 'https://tessera.example/' });
    expect(new URL(responseUrl(INFO, null, { code: 'abc' })).searchParams.has('state')).toBe(false);
  });

  it('cancels with access_denied and the state, at the confirmed redirect URI', async () => {
    const onLeave = vi.fn();
    const user = userEvent.setup({ delay: null });
    render(
      <MantineProvider env="test">
        <MemoryRouter initialEntries={['/oauth?state=s-9&redirect_uri=https%3A%2F%2Fevil.example%2F']}>
          <OAuthDenyButton info={INFO} onLeave={onLeave} disabled={false} />
        </MemoryRouter>
      </MantineProvider>,
    );
    await user.click(screen.getByRole('button', { name: 'Cancel and return to Chart Viewer' }));
    const url = new URL(onLeave.mock.calls[0]?.[0] as string);
    expect(url.host).toBe('chart.example');
    expect(url.searchParams.get('error')).toBe('access_denied');
    expect(url.searchParams.get('state')).toBe('s-9');
    expect(url.searchParams.get('iss')).toBe('https://tessera.example/');
  });

  it('pre-fills the email from a login_hint that is an address, and signs in as whoever the user types', async () => {
    const onSubmit = vi.fn();
    const user = userEvent.setup({ delay: null });
    renderSignInAt(`/oauth?client_id=c-1&login_hint=${encodeURIComponent(' ada+chart@example.com ')}`, onSubmit);
    const email = screen.getByLabelText(/^Email/) as HTMLInputElement;
    expect(email.value).toBe('ada+chart@example.com');
    await user.clear(email);
    await user.type(email, 'grace@example.com');
    await user.type(screen.getByLabelText(/^Password/), 'secret words');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(onSubmit).toHaveBeenCalledWith({ email: 'grace@example.com', password: 'secret words' });
  });

  it('leaves the email empty for a login_hint that is not an address, and renders none of it', () => {
    const markup = '"><img src=x onerror=alert(1)>@example.com';
    const { container } = renderSignInAt(`/oauth?login_hint=${encodeURIComponent(markup)}`);
    expect((screen.getByLabelText(/^Email/) as HTMLInputElement).value).toBe('');
    expect(container.querySelector('img')).toBeNull();
    expect(emailFromLoginHint('+1 555 0100')).toBeUndefined();
    expect(emailFromLoginHint('248289761001')).toBeUndefined();
    expect(emailFromLoginHint(`${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.example`)).toBeUndefined();
    expect(emailFromLoginHint(null)).toBeUndefined();
    expect(emailFromLoginHint("o'hara&co@example.com")).toBe("o'hara&co@example.com");
  });
});
