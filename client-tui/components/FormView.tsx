import { Box, Text } from 'ink';
import { type FormState, visibleFields } from '../ui.js';
import { fit } from './common.js';

export interface FormViewProps {
  form: FormState;
  width: number;
  height: number;
}

const TITLES = {
  pretext: 'Start a pretext run',
  downstream: 'Start a downstream run',
  evaluate: 'Evaluate',
  export: 'Export the network of',
} as const;

/** The start forms: a window of fields around the focused one, errors below. */
export function FormView({ form, width, height }: FormViewProps) {
  const fields = visibleFields(form);
  const focus = Math.min(form.focus, fields.length - 1);
  const errRows = Math.min(3, form.errors.length);
  const rows = Math.max(3, height - 3 - errRows);
  const start = Math.max(0, Math.min(focus - Math.floor(rows / 2), fields.length - rows));
  const labelW = 20;
  const valueW = Math.min(22, Math.max(10, width - labelW - 10));
  const helpW = Math.max(0, width - labelW - valueW - 6);
  const title = `${TITLES[form.kind]}${form.runId && (form.kind === 'evaluate' || form.kind === 'export') ? ` ${form.runId}` : ''}`;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold color="blue">
        {title}
        <Text dimColor>{'  ↑↓ field · type/←→ value · enter start · esc close'}</Text>
      </Text>
      {fields.slice(start, start + rows).map((f, i) => {
        const idx = start + i;
        const focused = idx === focus;
        const raw = form.values[f.key];
        const v = raw === undefined || raw === '' ? '' : String(raw);
        const shown =
          f.type === 'enum' || f.type === 'bool' || form.choices?.[f.key]?.length
            ? `‹ ${v || 'default'} ›`
            : `${v}${focused ? '▏' : ''}`;
        return (
          <Text key={f.key} wrap="truncate">
            <Text color={focused ? 'cyan' : undefined}>{focused ? '▸ ' : '  '}</Text>
            <Text bold={focused}>{fit(f.label, labelW)}</Text>
            <Text inverse={focused}>{fit(shown, valueW)}</Text>
            <Text dimColor>{`  ${fit(f.help, helpW)}`}</Text>
          </Text>
        );
      })}
      <Text
        dimColor
      >{`  field ${focus + 1}/${fields.length}${start + rows < fields.length ? ' · more below' : ''}`}</Text>
      {form.errors.slice(0, errRows).map((e) => (
        <Text key={e} color="red" wrap="truncate">
          {e}
        </Text>
      ))}
    </Box>
  );
}
