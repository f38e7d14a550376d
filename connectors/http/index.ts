export { createHttpConnector } from './connector.js';
export type { HttpConnector, HttpConnectorOptions } from './connector.js';
export {
  BaseUrlSchema,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_TIMEOUT_MS,
  HTTP_METHODS,
  HTTP_TOOL_NAME_PATTERN,
  HttpBodySchema,
  HttpConnectorConfigError,
  HttpConnectorConfigSchema,
  HttpInputSchemaSchema,
  HttpResponseSchema,
  HttpToolAnnotationsSchema,
  HttpToolSpecSchema,
  OpenApiSourceSchema,
  isForbiddenHeaderName,
} from './config.js';
export type {
  HttpConnectorConfig,
  HttpConnectorConfigInput,
  HttpMethod,
  HttpToolSpec,
  HttpToolSpecInput,
  OpenApiSource,
} from './config.js';
export { importOpenApiTools, loadOpenApiDocument } from './openapi.js';
export type { OpenApiImport, OpenApiSelection } from './openapi.js';
export { buildRequestPath, canonicalizePath, parsePathTemplate, PathError, PATH_PARAM_NAME_PATTERN } from './path.js';
export type { PathPart, PathTemplate } from './path.js';
export { buildRequest, originFromBaseUrl } from './request.js';
export type { BuiltRequest, HttpOrigin } from './request.js';
