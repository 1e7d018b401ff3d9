/**
 * The page's heading, focused when the page opens so a screen reader announces where a
 * navigation led and keyboard users start from the top of the new page.
 */
import { Title } from '@mantine/core';
import { useEffect, useRef, type ReactNode } from 'react';

export function PageTitle({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
    if (typeof children === 'string') document.title = `${children} · Tessera`;
  }, [children]);
  return (
    <Title order={1} size="h2" ref={ref} tabIndex={-1} mb="md" style={{ outline: 'none' }}>
      {children}
    </Title>
  );
}
