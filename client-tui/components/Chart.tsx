import { Box, Text } from 'ink';
import { type ChartSeries, renderChart, segments } from '../chart.js';

export interface ChartProps {
  title: string;
  series: ChartSeries[];
  colors: string[];
  width: number;
  /** Plot rows (the title takes one more). */
  height: number;
}

export function Chart({ title, series, colors, width, height }: ChartProps) {
  const grid = renderChart(series, width, height);
  const empty = series.every((s) => s.y.length === 0);
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        <Text bold>{title} </Text>
        {series.map((s, i) => (
          <Text key={s.name} color={colors[i]}>
            {`• ${s.name} `}
          </Text>
        ))}
      </Text>
      {empty ? (
        <Box height={height}>
          <Text dimColor>no data yet</Text>
        </Box>
      ) : (
        grid.rows.map((row, r) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows are positional
          <Text key={r} wrap="truncate">
            {segments(row).map((seg, k) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: segments are positional
              <Text key={k} color={seg.series >= 0 ? colors[seg.series] : 'gray'}>
                {seg.text}
              </Text>
            ))}
          </Text>
        ))
      )}
    </Box>
  );
}
