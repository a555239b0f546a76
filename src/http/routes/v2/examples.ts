import { Type } from 'typebox';

/**
 * Examples /docs pre-fills, so "Try it out" on the OIP routes answers 2xx as loaded: the
 * server's default model, and an image of its own domain — Fashion-MNIST test image 0 (an
 * ankle boot, model-store/fashion-mnist/samples/ankle-boot.png) as a base64 PNG.
 */
export const ANKLE_BOOT_PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAABwAAAAcCAIAAAD9b0jDAAAACXBIWXMAAAPoAAAD6AG1e1JrAAACrElEQVRIx+2Uy0uiYRjFzYQCW7RRwba1apMLW7QIJHHVKgwyKijDIlKxSAOx0uhqUXQlu0s3TShbKY2z0aZdaG39N6TFCPab7xscYxoGdwPTWbyc73be85zzqkTyiU/8I6isrKyoqBB5VVUVa0NDQ3kSfC+VSiF1dXVGo1Eul//+jsvlKltUJF1dXWtrazabrfSpUqns7e0dGRkpT1Qmk7FqtVqv1zs5Obm5uXlzc3N4eHhxcbGwsBAIBK6urlZWVspQFAdn5KWlJZ/PNzMzc3Jycnt7e3x8fHl5eXd3t729vbu7u76+/pdJERIJhYj3x8fHx8bGmBFpfO3t7R0cHJyfn6NLILg+Ojr6IOticKUVi8RkMvn9/u7u7r6+PuSwNjs7i7tQKBSJRBDFNbypqemPw5Jg6QYDAwOLi4uUY7VaWYPBIDkyLNJiAnBsIvruAEgFFM9NEWq1enR0dGJiwmw22+12COpMPT8/HxAAJ9/V1VWqg5PvuwFLoVAoKLqnpwcVtIaGhgiU3tFiUrSIMhwOQ0iAlZvLy8s7Ozvcb2xs/KmiUqmam5t1Ol17e3tnZ6fT6aRit9uNosPh4HJ6etrj8RDr3NwcZnHHAdrf3z89PWV2CMnCE4lEa2vrD0W9Xk/8lIAE/Yor1hAiOyQwMjU1xWXR19bWFnsEBSCKTdqDp1KplpYWicFgIGBGGx4eppDBwUE26O/vh1ssFgLlDBE/B553aIbgaOarACS+Cbi/v394eMBmLBarr6+X1NbW4uL6+vqLAO7C2RaPCIkGNzY24vF4MpnMZDLpdLpQKECi0Wgul8vn898FvL6+ZrPZp6cnjUbzq5yampq2tjZ8nZ2dIfH4+Pj8/Pzy8sKKEL7ooaOjo7q6uvgJXfMIK/xkmZ1TRT4f/td84v/BGzgZiCBJBw+WAAAAAElFTkSuQmCC';

/** `{model}` and `{version}` of the per-model routes; the example is this server's default model. */
export const modelParams = (defaultModel: string) =>
  Type.Object({
    model: Type.String({ examples: [defaultModel] }),
    version: Type.Optional(Type.String({ examples: ['1'] })),
  });

/** The request /docs offers first: one image, the top 3 labels by the classification extension. */
export const INFER_EXAMPLE = {
  id: 'try-it-out',
  inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: [ANKLE_BOOT_PNG_BASE64] }],
  outputs: [{ name: 'logits', parameters: { classification: 3 } }],
};
