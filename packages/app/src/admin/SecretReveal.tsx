/** A client secret shown once, with a copy button; it is not kept anywhere by the app. */
import { Alert, Button, Code, CopyButton, Group, Stack, Text } from '@mantine/core';

export function SecretReveal({ clientId, secret, onDone }: { clientId: string; secret: string; onDone: () => void }) {
  return (
    <Alert color="yellow" title="Copy the secret now" role="status">
      <Stack gap="xs">
        <Text size="sm">This is the only time the secret is shown. Store it where the client application can read it.</Text>
        <Text size="sm">
          Client id: <Code>{clientId}</Code>
        </Text>
        <Group gap="xs" wrap="nowrap" align="center">
          <Code aria-label="Client secret" style={{ wordBreak: 'break-all' }}>
            {secret}
          </Code>
          <CopyButton value={secret}>{({ copied, copy }) => <Button size="xs" variant="light" onClick={copy}>{copied ? 'Copied' : 'Copy secret'}</Button>}</CopyButton>
        </Group>
        <Group>
          <Button size="xs" variant="default" onClick={onDone}>
            I have copied it
          </Button>
        </Group>
      </Stack>
    </Alert>
  );
}
