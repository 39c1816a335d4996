import { Box, Text } from 'ink';

export interface FooterProps {
  hints: string;
  notice?: { text: string; error: boolean };
  width: number;
}

export function Footer({ hints, notice, width }: FooterProps) {
  return (
    <Box width={width} flexDirection="column">
      {notice ? (
        <Text color={notice.error ? 'red' : 'green'} wrap="truncate">
          {notice.text}
        </Text>
      ) : null}
      <Text dimColor wrap="truncate">
        {hints}
      </Text>
    </Box>
  );
}
