/** The form's messages that belong to no field, in a live region so they are read out. */
import { Alert } from '@mantine/core';

export function FormAlert({ messages, title = 'Not saved' }: { messages: string[]; title?: string }) {
  if (messages.length === 0) return null;
  return (
    <Alert color="red" title={title} role="alert">
      {messages.map((m) => (
        <div key={m}>{m}</div>
      ))}
    </Alert>
  );
}
