/** The JSON Schema of `portcullis.yaml`, generated from the zod schema so editors validate as the gateway does. */
import { z } from 'zod';
import { GatewayConfigSchema } from './schema.js';

export function gatewayConfigJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(GatewayConfigSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://portcullis.dev/schemas/portcullis.schema.json',
    title: 'Portcullis gateway configuration',
  };
}
