/** Renders a component the way the app does: inside Mantine's provider (its test mode: no transitions or portals) and a router. */
import { MantineProvider } from '@mantine/core';
import { render } from '@testing-library/react';
import type { ReactElement, ReactNode } from 'react';
import { MemoryRouter } from 'react-router';

function Providers({ children }: { children: ReactNode }) {
  return (
    <MantineProvider env="test">
      <MemoryRouter>{children}</MemoryRouter>
    </MantineProvider>
  );
}

export function renderInApp(ui: ReactElement) {
  return render(ui, { wrapper: Providers });
}
