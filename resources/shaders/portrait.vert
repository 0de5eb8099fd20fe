#version 330
// Moves a capture-space vertex into the virtual view (DESIGN.md §3) and places it in the output window.
uniform mat3 u_rotation;   // R_edit (camera axes)
uniform vec3 u_pivot;      // neck pivot, capture camera space (m)
uniform float u_dolly;     // backward shift of the camera (m): added to z
uniform vec3 u_camera;     // virtual focal (px), cx, cy, full-resolution pixels
uniform vec4 u_window;     // output window: x0, y0, width, height in full-resolution pixels
uniform vec4 u_texture;    // photo crop: x0, y0, width, height in full-resolution pixels
uniform vec4 u_work;       // working grid rectangle, same units

in vec3 in_pos;
in vec2 in_src;
in float in_head;
in float in_edit;
in float in_quality;
in vec2 in_generated_px;    // the generated texture's source pixel, full resolution (drag frame only)
in vec4 in_generated_gain;  // the generated texture's colour gain / 2 and weight (drag frame only)

out vec2 v_uv;
out vec2 v_work;
out vec2 v_src;
out float v_quality;
out float v_edit;
out vec2 v_generated_px;
out vec4 v_generated_gain;

void main() {
    vec3 turned = u_rotation * (in_pos - u_pivot) + u_pivot;
    vec3 p = mix(in_pos, turned, in_head);
    p.z += u_dolly;
    vec2 px = u_camera.x * p.xy / p.z + u_camera.yz;
    // Far from the head the vertex stays on its source pixel, so the edit fades out into the photo.
    px = mix(in_src, px, in_edit);
    // Row 0 of the window at NDC y = -1: glReadPixels then returns rows top-down, no flip needed.
    vec2 ndc = (px + 0.5 - u_window.xy) / u_window.zw * 2.0 - 1.0;
    gl_Position = vec4(ndc, clamp(p.z / 50.0, 0.0, 1.0) * 2.0 - 1.0, 1.0);
    v_uv = (in_src + 0.5 - u_texture.xy) / u_texture.zw;
    v_work = (in_src + 0.5 - u_work.xy) / u_work.zw;
    v_src = in_src;
    v_quality = in_quality;
    v_edit = in_edit;
    v_generated_px = (in_generated_px + 0.5 - u_texture.xy) / u_texture.zw;
    v_generated_gain = in_generated_gain;
}
