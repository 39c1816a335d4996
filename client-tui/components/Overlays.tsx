import { Box, Text } from 'ink';

export function Help({ keys, width }: { keys: readonly (readonly [string, string])[]; width: number }) {
  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1} width={Math.min(width, 78)}>
      <Text bold>Keys</Text>
      {keys.map(([k, what]) => (
        <Text key={k} wrap="truncate">
          <Text color="cyan">{k.padEnd(10)}</Text>
          {what}
        </Text>
      ))}
      <Text dimColor>any key closes this help</Text>
    </Box>
  );
}

export function Confirm({ message, width }: { message: string; width: number }) {
  return (
    <Box borderStyle="round" borderColor="yellow" paddingX={1} width={Math.min(width, 90)}>
      <Text>
        {message} <Text bold>y</Text>/<Text bold>N</Text>
      </Text>
    </Box>
  );
}
