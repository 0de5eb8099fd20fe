#version 330
// Draft (slider-drag) frame, step 1 of 3: the visibility of pass 1 alone, at 1/4 resolution (the same
// discard and values as portrait.frag's third output, without the colour work).
uniform sampler2D u_photo;        // photo crop at this scale: rgb + person matte in alpha
uniform float u_scale;            // output pixels per full-resolution pixel
uniform float u_torn;             // 1 while drawing the triangles torn across a depth jump

in vec2 v_uv;
in vec2 v_src;
in float v_quality;
in float v_edit;
out vec4 out_visibility;          // r = validity x quality, g = edit, b = coverage

void main() {
    vec2 sx = dFdx(v_src) * u_scale;
    vec2 sy = dFdy(v_src) * u_scale;
    float density = abs(sx.x * sy.y - sx.y * sy.x);
    if (v_quality >= 0.0) {  // not the skirt: the outline's background is not drawn (see portrait.frag)
        float a = texture(u_photo, v_uv).a;
        if (a < 0.01 || (a < 0.5 && density < 0.5)) discard;
    }
    float validity = smoothstep(0.2, 0.55, density) * (1.0 - u_torn);
    out_visibility = vec4(validity * max(v_quality, 0.0), v_edit, 1.0, 1.0);
}
